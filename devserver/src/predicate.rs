//! The evidence predicate language of dev intents (`predicate_dsl`):
//! `{"version": 1, "root": NODE}`, NODE one of `{"op": "true"}`,
//! `{"op": "false"}`, `{"op": "eq", "path": "a.b", "value": V}`,
//! `{"op": "exists", "path": "a.b"}`, `{"op": "and"|"or", "args": [NODE…]}`.
//! An unknown op is false.

use serde_json::Value;

fn lookup<'a>(payload: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(payload, |v, k| v.get(k))
}

/// Whether `payload` satisfies predicate `p`.
pub fn eval(p: &Value, payload: &Value) -> bool {
    let node = p.get("root").unwrap_or(p);
    let path = || node.get("path").and_then(Value::as_str).unwrap_or("");
    let args = || node.get("args").and_then(Value::as_array);
    match node.get("op").and_then(Value::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some("eq") => lookup(payload, path()) == node.get("value"),
        Some("exists") => lookup(payload, path()).is_some(),
        Some("and") => args().is_some_and(|a| a.iter().all(|x| eval(x, payload))),
        Some("or") => args().is_some_and(|a| a.iter().any(|x| eval(x, payload))),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::eval;
    use serde_json::json;

    #[test]
    fn operators() {
        let p = json!({"status": "done", "n": {"k": 1}});
        assert!(eval(&json!({"version": 1, "root": {"op": "true"}}), &p));
        assert!(!eval(&json!({"op": "false"}), &p));
        assert!(eval(
            &json!({"op": "eq", "path": "status", "value": "done"}),
            &p
        ));
        assert!(!eval(
            &json!({"op": "eq", "path": "status", "value": "x"}),
            &p
        ));
        assert!(eval(&json!({"op": "exists", "path": "n.k"}), &p));
        assert!(!eval(&json!({"op": "exists", "path": "n.z"}), &p));
        let t = json!({"op": "true"});
        let f = json!({"op": "false"});
        assert!(eval(&json!({"op": "and", "args": [t, t]}), &p));
        assert!(!eval(&json!({"op": "and", "args": [t, f]}), &p));
        assert!(eval(&json!({"op": "or", "args": [f, t]}), &p));
        assert!(!eval(&json!({"op": "or"}), &p));
        assert!(!eval(&json!({"op": "nope"}), &p));
    }
}
