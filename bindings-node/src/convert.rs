//! Host values in, errors out: the one conversion table of the Node glue.
//!
//! Nothing here decides whether a value is acceptable. Numbers become
//! [`HostNumber`] exactly as JavaScript holds them (never through a napi
//! integer type, which turns `NaN`/`Infinity` into 0 and truncates fractions);
//! texts are `Option<String>`; the core judges. A value of the wrong JS type is
//! an `InvalidArgument` naming the field in camelCase.

use napi::bindgen_prelude::*;
use napi::{sys, JsValue, ValueType};
use paybond_kit::input::{HostNumber, HostSeed};
use paybond_kit::{Error as KitError, FieldStyle};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Marker the TS layer looks for before parsing an error's JSON message.
const MARK: &str = "PAYBOND_ERROR:";

pub(crate) type KitResult<T> = paybond_kit::Result<T>;

/// The one error conversion: class from `class_name()`, fields camelCased, plus `code`.
/// `InvalidArgument.field` is always camelCase (core field names are snake_case).
pub(crate) fn to_js_err(e: KitError) -> napi::Error {
    let e = match e {
        KitError::InvalidArgument { field, message } => KitError::InvalidArgument {
            field: FieldStyle::Camel.name(&field),
            message,
        },
        other => other,
    };
    let mut fields = Map::new();
    for (k, v) in e.fields() {
        let v = match v {
            paybond_kit::error::ErrorField::Text(s) => Value::from(s),
            paybond_kit::error::ErrorField::Int(n) => Value::from(n),
            paybond_kit::error::ErrorField::Null => Value::Null,
        };
        fields.insert(FieldStyle::Camel.name(k), v);
    }
    let v = json!({
        "kind": e.class_name(),
        "code": e.code(),
        "message": e.to_string(),
        "fields": fields,
    });
    napi::Error::new(Status::GenericFailure, format!("{MARK}{v}"))
}

/// An `InvalidArgument` naming `snake` in camelCase.
pub(crate) fn invalid(snake: &str, message: impl std::fmt::Display) -> KitError {
    FieldStyle::Camel.invalid(snake, message)
}

/// Runs a sync entry point under the core's unwind guard; converts its error.
pub(crate) fn sync<T>(f: impl FnOnce() -> KitResult<T>) -> Result<T> {
    paybond_kit::unwind::catch_unwind_sync(f).map_err(to_js_err)
}

/// Runs `f(handle)` as a promise under the core's unwind guard. The future owns
/// its clone of the handle, so a pending call never borrows a JS object that a
/// worker thread's teardown can free mid-call.
pub(crate) fn spawn_owned<'env, H, T, F, Fut>(
    env: &'env Env,
    handle: &H,
    f: F,
) -> Result<PromiseRaw<'env, T>>
where
    H: Clone,
    F: FnOnce(H) -> Fut,
    Fut: std::future::Future<Output = KitResult<T>> + Send + 'static,
    T: ToNapiValue + Send + 'static,
{
    let fut = f(handle.clone());
    env.spawn_future(async move {
        paybond_kit::unwind::catch_unwind(fut)
            .await
            .map_err(to_js_err)
    })
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn unreadable(snake: &str) -> impl FnOnce(napi::Error) -> KitError + '_ {
    move |e| invalid(snake, format!("cannot be read ({})", e.reason))
}

/// A JS value as read from an argument or a field; `None` is `undefined` (an absent field).
pub(crate) type Js<'a, 'b> = Option<&'b Unknown<'a>>;

fn type_of(snake: &str, v: Js) -> KitResult<ValueType> {
    match v {
        None => Ok(ValueType::Undefined),
        Some(v) => v.get_type().map_err(unreadable(snake)),
    }
}

/// `typeof`-style name of a value, for messages.
fn type_name(v: Js, t: ValueType) -> String {
    match t {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "boolean",
        ValueType::Number => "number",
        ValueType::String => "string",
        ValueType::Symbol => "symbol",
        ValueType::Object => {
            if v.is_some_and(|v| v.is_array().unwrap_or(false)) {
                "array"
            } else {
                "object"
            }
        }
        ValueType::Function => "function",
        ValueType::External => "external",
        ValueType::BigInt => "bigint",
        _ => "unknown",
    }
    .to_owned()
}

fn is_array(v: Js) -> bool {
    v.is_some_and(|v| v.is_array().unwrap_or(false))
}

/// Casts a value whose type was checked. `v` is `Some` for every type but `Undefined`.
/// A getter or Proxy trap that throws inside the value (an element of an array, a property of
/// an object) leaves no pending exception: it is cleared, and the error names `snake`.
fn cast<V: FromNapiValue>(snake: &str, v: Js) -> KitResult<V> {
    match v {
        Some(v) => unsafe { v.cast::<V>() }.map_err(|e| {
            clear_pending(v);
            unreadable(snake)(e)
        }),
        None => Err(invalid(snake, "is missing")),
    }
}

/// Clears a JS exception left pending by a failed read (nothing happens when there is none).
fn clear_pending(v: &Unknown<'_>) {
    let mut pending = std::ptr::null_mut();
    unsafe { sys::napi_get_and_clear_last_exception(v.value().env, &mut pending) };
}

/// A number-ish JS value as the core's [`HostNumber`], without judging it.
pub(crate) fn host_number(snake: &str, v: Js) -> KitResult<HostNumber> {
    let t = type_of(snake, v)?;
    Ok(match t {
        ValueType::Number => HostNumber::Float(cast::<f64>(snake, v)?),
        ValueType::BigInt => match cast::<BigInt>(snake, v)?.get_i128() {
            (i, true) => HostNumber::Int(i),
            _ => HostNumber::Other("bigint (more than 128 bits)".into()),
        },
        ValueType::Boolean => HostNumber::Bool(cast::<bool>(snake, v)?),
        other => HostNumber::Other(type_name(v, other)),
    })
}

/// `undefined`/`null` → `None`; a string → `Some`; anything else is an error naming `snake`.
pub(crate) fn opt_text(snake: &str, v: Js) -> KitResult<Option<String>> {
    match type_of(snake, v)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::String => cast::<String>(snake, v).map(Some),
        other => Err(invalid(
            snake,
            format!(
                "expected a string, got a value of type {}",
                type_name(v, other)
            ),
        )),
    }
}

/// Like [`opt_text`], absent is the empty string (the core then says what it expected).
pub(crate) fn text(snake: &str, v: Js) -> KitResult<String> {
    opt_text(snake, v).map(Option::unwrap_or_default)
}

/// `undefined`/`null` → `None`; anything else as a [`HostNumber`].
pub(crate) fn opt_number(snake: &str, v: Js) -> KitResult<Option<HostNumber>> {
    match type_of(snake, v)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        _ => host_number(snake, v).map(Some),
    }
}

/// A seed as the core's [`HostSeed`] (`undefined`/`null` → `None`): a string is text, a
/// `Uint8Array` (a `Buffer` included) is bytes, anything else names its type. The core's
/// `input::seed` judges it (64 hex digits or exactly 32 bytes).
pub(crate) fn opt_host_seed(snake: &str, v: Js) -> KitResult<Option<HostSeed>> {
    let t = type_of(snake, v)?;
    let typed = v.is_some_and(|u| u.is_typedarray().unwrap_or(false));
    Ok(match t {
        ValueType::Undefined | ValueType::Null => None,
        ValueType::String => Some(HostSeed::Text(cast::<String>(snake, v)?)),
        ValueType::Object if typed => {
            let ta = cast::<TypedArray>(snake, v)?;
            if matches!(ta.typed_array_type, TypedArrayType::Uint8) {
                let b: &[u8] = &ta.arraybuffer;
                Some(HostSeed::Bytes(b.to_vec()))
            } else {
                Some(HostSeed::Other(format!("{:?}Array", ta.typed_array_type)))
            }
        }
        other => Some(HostSeed::Other(type_name(v, other))),
    })
}

/// A required seed, judged by the core; absent is an error naming `snake`.
pub(crate) fn seed(snake: &str, v: Js) -> KitResult<[u8; 32]> {
    let hs = opt_host_seed(snake, v)?.ok_or_else(|| {
        invalid(
            snake,
            "required: 64 hex digits or 32 bytes (an Ed25519 seed)",
        )
    })?;
    paybond_kit::input::seed(FieldStyle::Camel, snake, &hs)
}

/// `undefined`/`null` → `None`; an object of strings → a map.
pub(crate) fn opt_string_map(snake: &str, v: Js) -> KitResult<Option<HashMap<String, String>>> {
    match type_of(snake, v)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Object if !is_array(v) => cast::<HashMap<String, String>>(snake, v)
            .map(Some)
            .map_err(|_| invalid(snake, "expected an object whose values are strings")),
        other => Err(invalid(
            snake,
            format!(
                "expected an object whose values are strings, got a value of type {}",
                type_name(v, other)
            ),
        )),
    }
}

/// `undefined`/`null` → `None`; an array of strings → a vector.
pub(crate) fn opt_string_list(snake: &str, v: Js) -> KitResult<Option<Vec<String>>> {
    match type_of(snake, v)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Object if is_array(v) => cast::<Vec<String>>(snake, v)
            .map(Some)
            .map_err(|_| invalid(snake, "expected an array of strings")),
        other => Err(invalid(
            snake,
            format!(
                "expected an array of strings, got a value of type {}",
                type_name(v, other)
            ),
        )),
    }
}

/// Named fields of a JS options object, read by their camelCase names.
pub(crate) struct Fields<'a> {
    obj: Option<Object<'a>>,
}

impl<'a> Fields<'a> {
    /// `v` must be an object; `undefined`/`null` reads as an empty one when `optional`.
    pub fn new(snake: &str, v: &Unknown<'a>, optional: bool) -> KitResult<Self> {
        let v = Some(v);
        match type_of(snake, v)? {
            ValueType::Undefined | ValueType::Null if optional => Ok(Fields { obj: None }),
            ValueType::Object if !is_array(v) => Ok(Fields {
                obj: Some(cast::<Object<'a>>(snake, v)?),
            }),
            other => Err(invalid(
                snake,
                format!(
                    "expected an object, got a value of type {}",
                    type_name(v, other)
                ),
            )),
        }
    }

    /// The field `snake`, read by its camelCase name (an absent field reads as `undefined`,
    /// which every converter here treats as absent). A getter or Proxy trap that throws is an
    /// `InvalidArgument` naming the field; its exception is cleared, never left pending.
    pub fn get(&self, snake: &str) -> KitResult<Option<Unknown<'a>>> {
        let Some(obj) = &self.obj else {
            return Ok(None);
        };
        let mut name = FieldStyle::Camel.name(snake);
        debug_assert!(!name.contains('\0'), "field names are literals without NUL");
        name.push('\0');
        let o = obj.value();
        let mut out = std::ptr::null_mut();
        // One named-property read (the hot path: verify reads 13 fields per call).
        let status =
            unsafe { sys::napi_get_named_property(o.env, o.value, name.as_ptr().cast(), &mut out) };
        if status == sys::Status::napi_ok && !out.is_null() {
            return Ok(Some(unsafe { Unknown::from_raw_unchecked(o.env, out) }));
        }
        clear_pending(&obj.to_unknown());
        Err(invalid(
            snake,
            "cannot be read: reading the property threw an exception",
        ))
    }

    pub fn opt_text(&self, snake: &str) -> KitResult<Option<String>> {
        opt_text(snake, self.get(snake)?.as_ref())
    }

    pub fn text(&self, snake: &str) -> KitResult<String> {
        text(snake, self.get(snake)?.as_ref())
    }

    pub fn opt_number(&self, snake: &str) -> KitResult<Option<HostNumber>> {
        opt_number(snake, self.get(snake)?.as_ref())
    }

    /// A required number: absent reads as the host type `undefined` (the core says what it expected).
    pub fn number(&self, snake: &str) -> KitResult<HostNumber> {
        host_number(snake, self.get(snake)?.as_ref())
    }

    pub fn opt_host_seed(&self, snake: &str) -> KitResult<Option<HostSeed>> {
        opt_host_seed(snake, self.get(snake)?.as_ref())
    }

    pub fn seed(&self, snake: &str) -> KitResult<[u8; 32]> {
        seed(snake, self.get(snake)?.as_ref())
    }

    pub fn opt_string_map(&self, snake: &str) -> KitResult<Option<HashMap<String, String>>> {
        opt_string_map(snake, self.get(snake)?.as_ref())
    }

    pub fn opt_string_list(&self, snake: &str) -> KitResult<Option<Vec<String>>> {
        opt_string_list(snake, self.get(snake)?.as_ref())
    }

    /// The session options every open takes, for the core to check.
    pub fn session_options(&self) -> KitResult<paybond_kit::SessionOptionsInput> {
        Ok(paybond_kit::SessionOptionsInput {
            timeout_seconds: self.opt_number("timeout_seconds")?,
            deadline_seconds: self.opt_number("deadline_seconds")?,
            max_retries: self.opt_number("max_retries")?,
            max_retry_after_seconds: self.opt_number("max_retry_after_seconds")?,
            refresh_skew_seconds: self.opt_number("refresh_skew_seconds")?,
            max_response_bytes: self.opt_number("max_response_bytes")?,
            proxy_url: self.opt_text("proxy_url")?,
            expected_tenant_id: self.opt_text("expected_tenant_id")?,
            expected_environment: self.opt_text("expected_environment")?,
        })
    }
}

/// Parses JSON text handed over by the TypeScript layer (`JSON.stringify` keeps
/// integers above 2^32 integers); errors name `snake`.
pub(crate) fn json_text(snake: &str, v: Js) -> KitResult<Value> {
    let t = text(snake, v)?;
    exact_json(snake, &t)
}

/// Like [`json_text`]; `undefined`/`null` → `None`.
pub(crate) fn opt_json_text(snake: &str, v: Js) -> KitResult<Option<Value>> {
    opt_text(snake, v)?
        .map(|t| exact_json(snake, &t))
        .transpose()
}

/// The value JSON text denotes, judged and read by the core (strict grammar,
/// no duplicate keys, every number read exactly).
fn exact_json(snake: &str, text: &str) -> KitResult<Value> {
    paybond_kit::json::parse_payload_text(&FieldStyle::Camel.name(snake), text)
}
