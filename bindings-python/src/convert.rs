//! Python objects <-> serde_json values, and core errors -> `paybond_kit.errors`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// A JSON value handed to Python (converted with the GIL held by pyo3).
pub struct Json(pub Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
}

/// Converts a JSON value into plain Python objects.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Converts plain Python data (dict/list/tuple/str/int/float/bool/None) into JSON.
/// `field` names the argument in error messages.
pub fn from_py(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract::<bool>()?));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(invalid_argument(
            obj.py(),
            field,
            "integers must fit in 64 bits",
        ));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| invalid_argument(obj.py(), field, "NaN and infinity are not JSON"));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| invalid_argument(obj.py(), field, "dictionary keys must be strings"))?
                .to_str()?
                .to_owned();
            m.insert(key, from_py(&v, field)?);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l
            .iter()
            .map(|x| from_py(&x, field))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t
            .iter()
            .map(|x| from_py(&x, field))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    let ty = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    Err(invalid_argument(
        obj.py(),
        field,
        &format!(
            "expected JSON-compatible data (dict, list, str, int, float, bool, None), got {ty}"
        ),
    ))
}

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS
        .get_or_try_init(py, || py.import("paybond_kit.errors").map(Bound::unbind))
        .map(|m| m.bind(py))
}

fn build(py: Python<'_>, class: &str, message: &str, kwargs: &[(&str, Py<PyAny>)]) -> PyErr {
    let attempt = || -> PyResult<PyErr> {
        let cls = errors_module(py)?.getattr(class)?;
        let kw = PyDict::new(py);
        for (k, v) in kwargs {
            kw.set_item(k, v)?;
        }
        let inst = cls.call((message,), Some(&kw))?;
        Ok(PyErr::from_value(inst))
    };
    attempt().unwrap_or_else(|e| e)
}

/// An `InvalidArgumentError` naming `field`.
pub fn invalid_argument(py: Python<'_>, field: &str, message: &str) -> PyErr {
    let msg = format!("invalid argument `{field}`: {message}");
    build(
        py,
        "InvalidArgumentError",
        &msg,
        &[(
            "field",
            field
                .into_pyobject(py)
                .map(|x| x.into_any().unbind())
                .unwrap_or_else(|_| py.None()),
        )],
    )
}

/// The one place a core error becomes a Python exception.
pub fn to_py_err(e: paybond_kit::Error) -> PyErr {
    use paybond_kit::Error as E;
    Python::attach(|py| {
        let msg = e.to_string();
        let obj = |s: &str| -> Py<PyAny> { PyString::new(py, s).into_any().unbind() };
        let int = |n: u16| -> Py<PyAny> {
            n.into_pyobject(py)
                .map(|x| x.into_any().unbind())
                .unwrap_or_else(|_| py.None())
        };
        let opt = |o: Option<Py<PyAny>>| o.unwrap_or_else(|| py.None());
        match &e {
            E::HarborHttp {
                status_code,
                url,
                body_text,
            } => build(
                py,
                "HarborHttpError",
                &msg,
                &[
                    ("status_code", int(*status_code)),
                    ("url", obj(url)),
                    ("body_text", obj(body_text)),
                ],
            ),
            E::SignalHttp {
                status_code,
                url,
                body_text,
            } => build(
                py,
                "SignalHttpError",
                &msg,
                &[
                    ("status_code", int(*status_code)),
                    ("url", obj(url)),
                    ("body_text", obj(body_text)),
                ],
            ),
            E::GatewayAuth {
                status_code,
                body_text,
                ..
            } => build(
                py,
                "GatewayAuthError",
                &msg,
                &[
                    ("status_code", opt(status_code.map(int))),
                    ("body_text", opt(body_text.as_deref().map(obj))),
                ],
            ),
            E::TenantBinding { .. } => build(py, "TenantBindingError", &msg, &[]),
            E::InsecureUrl { url, .. } => build(py, "InsecureUrlError", &msg, &[("url", obj(url))]),
            E::Transport { url, .. } => build(py, "TransportError", &msg, &[("url", obj(url))]),
            E::Timeout { url, .. } => build(py, "PaybondTimeoutError", &msg, &[("url", obj(url))]),
            E::InvalidResponse { url, .. } => {
                build(py, "InvalidResponseError", &msg, &[("url", obj(url))])
            }
            E::Signing { .. } => build(py, "SigningError", &msg, &[]),
            E::SignatureInvalid { .. } => build(py, "SignatureInvalidError", &msg, &[]),
            E::TokenIntentMismatch { .. } => build(py, "TokenIntentMismatchError", &msg, &[]),
            E::SessionClosed { .. } => build(py, "SessionClosedError", &msg, &[]),
            E::InvalidArgument { field, .. } => {
                build(py, "InvalidArgumentError", &msg, &[("field", obj(field))])
            }
            _ => {
                let _ = PyTypeError::new_err("");
                build(py, "PaybondError", &msg, &[("code", obj(e.code()))])
            }
        }
    })
}
