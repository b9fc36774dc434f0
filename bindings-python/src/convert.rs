//! Python objects <-> serde_json values, and core errors -> `paybond_kit.errors` (one
//! generic conversion: the class from `Error::class_name`, the fields from `Error::fields`).

use paybond_kit::error::ErrorField;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

/// Deepest nesting accepted from Python (the core's strict JSON reader allows 128 levels).
/// Deeper data (or a list that contains itself) would otherwise recurse without bound.
const MAX_DEPTH: usize = 128;

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

/// The name of `obj`'s type, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// A Python `str` as UTF-8; a lone surrogate is an `InvalidArgumentError` naming `field`.
pub fn py_str(s: &Bound<'_, PyString>, field: &str) -> PyResult<String> {
    s.to_str().map(str::to_owned).map_err(|_| {
        invalid_argument(
            s.py(),
            field,
            "the string is not valid Unicode (it holds a lone surrogate)",
        )
    })
}

/// Converts plain Python data (dict/list/tuple/str/int/float/bool/None) into JSON.
/// `field` names the argument in error messages.
pub fn from_py(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    from_py_at(obj, field, 0)
}

fn from_py_at(obj: &Bound<'_, PyAny>, field: &str, depth: usize) -> PyResult<Value> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>()
        || obj.is_instance_of::<PyInt>()
        || obj.is_instance_of::<PyFloat>()
    {
        // The core's one rule for numbers inside JSON data (64-bit integers, finite floats).
        return paybond_kit::input::json_number(
            crate::args::STYLE,
            field,
            &crate::args::host_number(obj),
        )
        .map_err(to_py_err);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return py_str(s, field).map(Value::String);
    }
    if depth >= MAX_DEPTH {
        return Err(invalid_argument(
            py,
            field,
            &format!("data nested deeper than {MAX_DEPTH} levels (or containing itself)"),
        ));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => py_str(s, field)?,
                Err(_) => {
                    return Err(invalid_argument(
                        py,
                        field,
                        &format!("dictionary keys must be strings, got {}", type_name(&k)),
                    ))
                }
            };
            m.insert(key, from_py_at(&v, field, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l
            .iter()
            .map(|x| from_py_at(&x, field, depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t
            .iter()
            .map(|x| from_py_at(&x, field, depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    Err(invalid_argument(
        py,
        field,
        &format!(
            "expected JSON-compatible data (dict, list, str, int, float, bool, None), got {}",
            type_name(obj)
        ),
    ))
}

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS
        .get_or_try_init(py, || py.import("paybond_kit.errors").map(Bound::unbind))
        .map(|m| m.bind(py))
}

fn field_value<'py>(py: Python<'py>, v: &ErrorField) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        ErrorField::Text(s) => PyString::new(py, s).into_any(),
        ErrorField::Int(n) => n.into_pyobject(py)?.into_any(),
        ErrorField::Null => py.None().into_bound(py),
    })
}

fn build(py: Python<'_>, e: &paybond_kit::Error) -> PyResult<PyErr> {
    let module = errors_module(py)?;
    let message = e.to_string();
    let kw = PyDict::new(py);
    for (name, value) in e.fields() {
        kw.set_item(name, field_value(py, &value)?)?;
    }
    kw.set_item("code", e.code())?;
    // A class this package does not know yet (a newer core), or fields it does not take,
    // still give a PaybondError with the right code and message.
    let inst = match module.getattr(e.class_name()) {
        Ok(cls) => cls.call((message.as_str(),), Some(&kw)),
        Err(err) => Err(err),
    };
    let inst = match inst {
        Ok(i) => i,
        Err(_) => {
            let kw = PyDict::new(py);
            kw.set_item("code", e.code())?;
            module
                .getattr("PaybondError")?
                .call((message.as_str(),), Some(&kw))?
        }
    };
    Ok(PyErr::from_value(inst))
}

/// The one place a core error becomes a Python exception.
pub fn to_py_err(e: paybond_kit::Error) -> PyErr {
    Python::attach(|py| build(py, &e).unwrap_or_else(|err| err))
}

/// An `InvalidArgumentError` naming `field` (a host value the binding cannot convert).
pub fn invalid_argument(_py: Python<'_>, field: &str, message: &str) -> PyErr {
    to_py_err(paybond_kit::Error::invalid_argument(field, message))
}
