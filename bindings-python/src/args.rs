//! Host values -> core inputs. Nothing here judges a value (ranges, formats, the spend
//! rule): it only converts Python objects into the core's request types, and a value of
//! the wrong Python type into an `InvalidArgumentError` naming the Python field.

use crate::convert::{invalid_argument, py_str, to_py_err, type_name};
use paybond_kit::input::{FieldStyle, HostNumber, HostSeed, SessionOptionsInput};
use paybond_kit::SessionOptions;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// The field style of every Python error (`requested_spend_cents`).
pub const STYLE: FieldStyle = FieldStyle::Snake;

/// A number-ish Python value, as it is: the core decides whether it is acceptable.
pub fn host_number(obj: &Bound<'_, PyAny>) -> HostNumber {
    if obj.is_instance_of::<PyBool>() {
        return HostNumber::Bool(obj.is_truthy().unwrap_or(false));
    }
    if obj.is_instance_of::<PyInt>() {
        // i64 first: the common case, and the fast conversion under abi3.
        if let Ok(i) = obj.extract::<i64>() {
            return HostNumber::Int(i.into());
        }
        return match obj.extract::<i128>() {
            Ok(i) => HostNumber::Int(i),
            Err(_) => HostNumber::Other("int (more than 128 bits)".into()),
        };
    }
    if obj.is_instance_of::<PyFloat>() {
        return match obj.extract::<f64>() {
            Ok(f) => HostNumber::Float(f),
            Err(_) => HostNumber::Other("float".into()),
        };
    }
    HostNumber::Other(type_name(obj))
}

/// A spend in minor units, by the core's rule (an exact integer in `0..=2^53-1`).
pub fn spend(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    paybond_kit::input::spend_cents(STYLE, &host_number(obj)).map_err(to_py_err)
}

/// An integer in `min..=max` by the core's rule, or `None` for Python `None`.
pub fn opt_integer(
    obj: Option<&Bound<'_, PyAny>>,
    field: &str,
    min: u64,
    max: u64,
) -> PyResult<Option<u64>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => paybond_kit::input::integer_in(STYLE, field, &host_number(o), min, max)
            .map(Some)
            .map_err(to_py_err),
    }
}

/// A `str` argument.
pub fn text(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => py_str(s, field),
        Err(_) => Err(invalid_argument(
            obj.py(),
            field,
            &format!("expected a string, got {}", type_name(obj)),
        )),
    }
}

/// A `str | None` argument.
pub fn opt_text(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<String>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => text(o, field).map(Some),
    }
}

/// A list (or tuple) of `str`.
pub fn text_list(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Vec<String>> {
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = obj.cast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        t.iter().collect()
    } else {
        return Err(invalid_argument(
            obj.py(),
            field,
            &format!("expected a list of strings, got {}", type_name(obj)),
        ));
    };
    items.iter().map(|x| text(x, field)).collect()
}

/// A `dict[str, str] | None` argument.
pub fn opt_text_map(
    obj: Option<&Bound<'_, PyAny>>,
    field: &str,
) -> PyResult<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(out);
    };
    let d = obj.cast::<PyDict>().map_err(|_| {
        invalid_argument(
            obj.py(),
            field,
            &format!("expected a dict of str to str, got {}", type_name(obj)),
        )
    })?;
    for (k, v) in d.iter() {
        out.insert(text(&k, field)?, text(&v, field)?);
    }
    Ok(out)
}

/// A seed-ish Python value, as it is (`bytes`, `str`, anything else).
pub fn host_seed(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<HostSeed> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(HostSeed::Bytes(b.as_bytes().to_vec()));
    }
    if obj.is_instance_of::<PyString>() {
        return text(obj, field).map(HostSeed::Text);
    }
    Ok(HostSeed::Other(type_name(obj)))
}

/// A 32-byte Ed25519 seed by the core's one seed rule (64 hex digits or exactly 32 bytes).
pub fn seed(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<[u8; 32]> {
    paybond_kit::input::seed(STYLE, field, &host_seed(obj, field)?).map_err(to_py_err)
}

/// The numeric option names, as Python spells them.
const NUMERIC_OPTIONS: [&str; 6] = [
    "timeout_seconds",
    "deadline_seconds",
    "max_retries",
    "max_retry_after_seconds",
    "refresh_skew_seconds",
    "max_response_bytes",
];
const TEXT_OPTIONS: [&str; 3] = ["proxy_url", "expected_tenant_id", "expected_environment"];

/// Session options from the dict the Python layer builds (keys are the Python option
/// names); the core's `SessionOptionsInput::build` checks every value.
pub fn session_options(opts: &Bound<'_, PyAny>) -> PyResult<SessionOptions> {
    let py = opts.py();
    let d = opts
        .cast::<PyDict>()
        .map_err(|_| invalid_argument(py, "options", "expected a dict of session options"))?;
    for (k, _) in d.iter() {
        let name = text(&k, "options")?;
        if !NUMERIC_OPTIONS.contains(&name.as_str()) && !TEXT_OPTIONS.contains(&name.as_str()) {
            return Err(invalid_argument(py, &name, "not a session option"));
        }
    }
    let num =
        |k: &str| -> PyResult<Option<HostNumber>> { Ok(d.get_item(k)?.map(|v| host_number(&v))) };
    let txt = |k: &str| -> PyResult<Option<String>> { opt_text(d.get_item(k)?.as_ref(), k) };
    SessionOptionsInput {
        timeout_seconds: num("timeout_seconds")?,
        deadline_seconds: num("deadline_seconds")?,
        max_retries: num("max_retries")?,
        max_retry_after_seconds: num("max_retry_after_seconds")?,
        refresh_skew_seconds: num("refresh_skew_seconds")?,
        max_response_bytes: num("max_response_bytes")?,
        proxy_url: txt("proxy_url")?,
        expected_tenant_id: txt("expected_tenant_id")?,
        expected_environment: txt("expected_environment")?,
    }
    .build(STYLE)
    .map_err(to_py_err)
}

/// A `dict` argument as a JSON object (anything else: `InvalidArgumentError` naming `field`).
pub fn json_object(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<serde_json::Value> {
    if !obj.is_instance_of::<PyDict>() {
        return Err(invalid_argument(
            obj.py(),
            field,
            &format!("expected a dict, got {}", type_name(obj)),
        ));
    }
    crate::convert::from_py(obj, field)
}
