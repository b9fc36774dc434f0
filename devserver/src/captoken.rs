//! Capability tokens: Biscuit v3 tokens signed by the server's root key,
//! bound to tenant + intent + operations + budget + expiry, and the verify
//! decision that authorizes a request against one.
//!
//! Authority block (facts the kit reads without the root key):
//! `tenant("…")`, `intent("…")`, `allowed_operation("…")`…, `budget_cents(N)`,
//! `expires_at(<date>)`, plus checks against facts supplied at verify time:
//! `operation($op)`, `spend($s)`, `time($t)`. A holder narrows a token offline
//! by appending a block with more checks on those facts, e.g.
//! `check if operation($op), ["search"].contains($op)` or
//! `check if spend($s), $s <= 500`.

use biscuit_auth::builder::AuthorizerBuilder;
use biscuit_auth::error::{Logic, Token as TokenError};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair, PublicKey};
use paybond_kit::capability::{decode_token_bytes, FACT_INTENT, FACT_TENANT};
use std::time::{Duration, SystemTime};

/// What a new token grants.
#[derive(Clone, Debug)]
pub struct Grant {
    /// Tenant.
    pub tenant_id: String,
    /// Intent (lower-case UUID).
    pub intent_id: String,
    /// Normalized operation names.
    pub operations: Vec<String>,
    /// Most a single call may spend.
    pub budget_cents: i64,
    /// Token expiry.
    pub expires_at: SystemTime,
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Mints a token (standard base64).
pub fn mint(root: &KeyPair, g: &Grant) -> Result<String, TokenError> {
    let mut src = String::new();
    src.push_str(&format!(
        "{FACT_TENANT}({});\n{FACT_INTENT}({});\n",
        quote(&g.tenant_id),
        quote(&g.intent_id)
    ));
    for op in &g.operations {
        src.push_str(&format!("allowed_operation({});\n", quote(op)));
    }
    let exp = crate::state::fmt_time(g.expires_at);
    src.push_str(&format!(
        "budget_cents({});\nexpires_at({exp});\n",
        g.budget_cents
    ));
    src.push_str("check if operation($op), allowed_operation($op);\n");
    src.push_str("check if spend($s), budget_cents($b), $s <= $b;\n");
    src.push_str(&format!("check if time($t), $t <= {exp};\n"));
    let b = Biscuit::builder().code(src)?.build(root)?;
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.encode(b.to_vec()?))
}

/// The outcome of authorizing a request against a token.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// Token authorizes the request.
    Ok,
    /// Denied with a Harbor deny code and a message.
    Deny(&'static str, String),
}

/// Authorizes (tenant, intent, operation, spend) against `token`.
pub fn authorize(
    root: &PublicKey,
    token: &str,
    tenant: &str,
    intent: &str,
    operation: &str,
    spend: i64,
    now: SystemTime,
) -> TokenCheck {
    let Some(bytes) = decode_token_bytes(token) else {
        return TokenCheck::Deny("invalid_token", "capability token is not base64".into());
    };
    let biscuit = match Biscuit::from(&bytes, root) {
        Ok(b) => b,
        Err(e) => {
            return TokenCheck::Deny(
                "invalid_token",
                format!("capability token does not verify: {e}"),
            )
        }
    };
    let limits = AuthorizerLimits {
        max_facts: 1000,
        max_iterations: 100,
        max_time: Duration::from_millis(100),
    };
    let build = || {
        AuthorizerBuilder::new()
            .set_limits(limits.clone())
            .fact(biscuit_auth::builder::fact(
                "operation",
                &[biscuit_auth::builder::string(operation)],
            ))?
            .fact(biscuit_auth::builder::fact(
                "spend",
                &[biscuit_auth::builder::int(spend)],
            ))?
            .fact(biscuit_auth::builder::fact(
                "time",
                &[biscuit_auth::builder::date(&now)],
            ))?
            .policy("allow if true")?
            .build(&biscuit)
    };
    let mut authz = match build() {
        Ok(a) => a,
        Err(e) => {
            return TokenCheck::Deny(
                "invalid_token",
                format!("cannot load capability token: {e}"),
            )
        }
    };
    let one = |a: &mut biscuit_auth::Authorizer, rule: &str| -> Option<String> {
        let r: Vec<(String,)> = a.query(rule).ok()?;
        r.into_iter().next().map(|x| x.0)
    };
    let tok_tenant = one(&mut authz, &format!("data($t) <- {FACT_TENANT}($t)"));
    let tok_intent = one(&mut authz, &format!("data($t) <- {FACT_INTENT}($t)"));
    match tok_tenant {
        Some(t) if t == tenant => {}
        Some(t) => {
            return TokenCheck::Deny("tenant_mismatch", format!("token is bound to tenant {t:?}"))
        }
        None => return TokenCheck::Deny("invalid_token", "token names no tenant".into()),
    }
    match tok_intent {
        Some(i) if i.eq_ignore_ascii_case(intent) => {}
        Some(i) => {
            return TokenCheck::Deny(
                "token_intent_mismatch",
                format!("token is bound to intent {i}, not {intent}"),
            )
        }
        None => return TokenCheck::Deny("invalid_token", "token names no intent".into()),
    }
    match authz.authorize() {
        Ok(_) => TokenCheck::Ok,
        Err(TokenError::FailedLogic(Logic::Unauthorized { checks, .. })) => {
            let rules: Vec<String> = checks
                .iter()
                .map(|c| match c {
                    biscuit_auth::error::FailedCheck::Block(b) => b.rule.clone(),
                    biscuit_auth::error::FailedCheck::Authorizer(a) => a.rule.clone(),
                })
                .collect();
            let joined = rules.join("; ");
            let code = if rules.iter().any(|r| r.contains("time(")) {
                "token_expired"
            } else if rules.iter().any(|r| r.contains("operation(")) {
                "operation_not_allowed"
            } else if rules.iter().any(|r| r.contains("spend(")) {
                "budget_exceeded"
            } else {
                "check_failed"
            };
            TokenCheck::Deny(code, format!("capability check failed: {joined}"))
        }
        Err(e) => TokenCheck::Deny("invalid_token", format!("capability token rejected: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_authorize_and_attenuate() {
        let root = KeyPair::new();
        let now = SystemTime::now();
        let g = Grant {
            tenant_id: "t1".into(),
            intent_id: "7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401".into(),
            operations: vec!["book".into(), "search".into()],
            budget_cents: 1000,
            expires_at: now + Duration::from_secs(600),
        };
        let tok = mint(&root, &g).unwrap();
        let pk = root.public();
        let i = g.intent_id.as_str();
        assert_eq!(
            authorize(&pk, &tok, "t1", i, "book", 100, now),
            TokenCheck::Ok
        );
        assert!(matches!(
            authorize(&pk, &tok, "t1", i, "pay", 100, now),
            TokenCheck::Deny("operation_not_allowed", _)
        ));
        assert!(matches!(
            authorize(&pk, &tok, "t1", i, "book", 5000, now),
            TokenCheck::Deny("budget_exceeded", _)
        ));
        assert!(matches!(
            authorize(&pk, &tok, "t2", i, "book", 1, now),
            TokenCheck::Deny("tenant_mismatch", _)
        ));
        assert!(matches!(
            authorize(
                &pk,
                &tok,
                "t1",
                "11111111-1111-4111-8111-111111111111",
                "book",
                1,
                now
            ),
            TokenCheck::Deny("token_intent_mismatch", _)
        ));
        assert!(matches!(
            authorize(
                &pk,
                &tok,
                "t1",
                i,
                "book",
                1,
                now + Duration::from_secs(3600)
            ),
            TokenCheck::Deny("token_expired", _)
        ));
        assert!(matches!(
            authorize(&KeyPair::new().public(), &tok, "t1", i, "book", 1, now),
            TokenCheck::Deny("invalid_token", _)
        ));
        // The kit reads the binding without the root key.
        let b = paybond_kit::capability::read_token_binding(&tok).unwrap();
        assert_eq!(b.tenant_id.as_deref(), Some("t1"));
    }
}
