//! Capability tokens: Biscuit v3 tokens signed by the server's root key,
//! bound to tenant + intent + operations + budget + expiry, and the verify
//! decision that authorizes a request against one.
//!
//! Authority block (facts the kit reads without the root key):
//! `tenant("…")`, `intent("…")`, `allowed_operation("…")`…, `budget_cents(N)`,
//! `expires_at(<date>)`, plus checks against facts supplied at verify time:
//! `operation($op)`, `spend($s)`, `time($t)`. A holder narrows a token offline
//! by appending a block with more checks on those facts
//! ([`paybond_kit::attenuate`] writes them: `delegated_operation`,
//! `delegated_spend_cap`, `delegated_expires_at`, `delegated_max_calls`).
//! Every block's checks must pass; facts in an appended block are invisible
//! to the authority's checks, so they grant nothing. This server also
//! supplies `max_calls_enforced(true)` and counts each block's
//! `delegated_max_calls` by the block's revocation id ([`CallLimit`]).
//!
//! Deny codes: `invalid_token`, `tenant_mismatch`, `token_intent_mismatch`,
//! `token_expired` (any block's expiry), `operation_not_allowed` (any
//! block's operations), `budget_exceeded` (the authority's per-call cap),
//! `spend_cap_exceeded` (an attenuation block's cap), `check_failed`.

use biscuit_auth::builder::AuthorizerBuilder;
use biscuit_auth::error::{Logic, Token as TokenError};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair, PublicKey};
use paybond_kit::attenuate::{FACT_MAX_CALLS_ENFORCED, MAX_TOKEN_BLOCKS};
use paybond_kit::capability::{decode_token_bytes, FACT_INTENT, FACT_TENANT};
use paybond_kit::harbor::MAX_CAPABILITY_TOKEN_BYTES;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
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

/// A `max_calls` limit of one attenuation block, which Harbor counts by the
/// block's revocation id (every allowed call under the token counts once
/// against each limited block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLimit {
    /// Block index (1 is the first attenuation block).
    pub block: usize,
    /// The block's revocation id (lower-case hex).
    pub revocation_id: String,
    /// Calls allowed under the block.
    pub max_calls: u64,
}

/// Harbor's `max_calls` counters: calls allowed under each limited block (by
/// revocation id), and which bound calls (`intent`, `tool_call_id`) each block
/// already counted, so one call counts once per block however often it is
/// verified again (a resume, a second guard on the same call).
#[derive(Debug, Default)]
pub struct CallCounts {
    per_block: HashMap<String, u64>,
    counted: HashSet<(String, String, String)>,
}

impl CallCounts {
    fn is_counted(&self, l: &CallLimit, call: Option<&(String, String)>) -> bool {
        call.is_some_and(|(i, c)| {
            self.counted
                .contains(&(l.revocation_id.clone(), i.clone(), c.clone()))
        })
    }

    /// The first of `limits` that has no call left for `call` (a call it
    /// already counted always passes).
    pub fn exhausted<'a>(
        &self,
        limits: &'a [CallLimit],
        call: Option<&(String, String)>,
    ) -> Option<&'a CallLimit> {
        limits.iter().find(|l| {
            !self.is_counted(l, call)
                && self.per_block.get(&l.revocation_id).copied().unwrap_or(0) >= l.max_calls
        })
    }

    /// Counts `call` once against each of `limits` that has not counted it.
    pub fn count(&mut self, limits: &[CallLimit], call: Option<&(String, String)>) {
        for l in limits {
            if self.is_counted(l, call) {
                continue;
            }
            *self.per_block.entry(l.revocation_id.clone()).or_default() += 1;
            if let Some((i, c)) = call {
                self.counted
                    .insert((l.revocation_id.clone(), i.clone(), c.clone()));
            }
        }
    }

    /// Calls counted under the block with revocation id `revocation_id` (hex).
    pub fn calls(&self, revocation_id: &str) -> u64 {
        self.per_block.get(revocation_id).copied().unwrap_or(0)
    }
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
    authorize_call(root, token, tenant, intent, operation, spend, now).0
}

/// [`authorize`], also returning the `max_calls` limits of the token's
/// attenuation blocks (empty when denied): the caller enforces them under
/// its state lock, where it can count atomically.
///
/// Every block's checks run (biscuit evaluates them all); Harbor supplies
/// `operation`, `spend`, `time` and `max_calls_enforced(true)`. Tenant and
/// intent are read from the authority block only: facts a holder appended
/// are invisible to the authority's checks and to these queries.
pub fn authorize_call(
    root: &PublicKey,
    token: &str,
    tenant: &str,
    intent: &str,
    operation: &str,
    spend: i64,
    now: SystemTime,
) -> (TokenCheck, Vec<CallLimit>) {
    match parse(root, token) {
        Ok(t) => authorize_parsed(&t, tenant, intent, operation, spend, now),
        Err(e) => (e, Vec::new()),
    }
}

/// A token whose signatures verified under the root key, with its bytes.
pub struct ParsedToken {
    bytes: Vec<u8>,
    biscuit: Biscuit,
}

fn invalid_token(msg: String) -> TokenCheck {
    TokenCheck::Deny("invalid_token", msg)
}

/// Decodes `token` (at most [`MAX_CAPABILITY_TOKEN_BYTES`]).
fn decode(token: &str) -> Result<Vec<u8>, TokenCheck> {
    let bytes = decode_token_bytes(token)
        .ok_or_else(|| invalid_token("capability token is not base64".into()))?;
    if bytes.len() > MAX_CAPABILITY_TOKEN_BYTES {
        let n = bytes.len();
        return Err(invalid_token(format!(
            "capability token is {n} bytes; at most {MAX_CAPABILITY_TOKEN_BYTES}"
        )));
    }
    Ok(bytes)
}

/// Verifies the signature chain of `bytes` under `root` and its block count.
fn parse_bytes(root: &PublicKey, bytes: Vec<u8>) -> Result<ParsedToken, TokenCheck> {
    let biscuit = Biscuit::from(&bytes, root)
        .map_err(|e| invalid_token(format!("capability token does not verify: {e}")))?;
    if biscuit.block_count() > MAX_TOKEN_BLOCKS {
        let n = biscuit.block_count();
        return Err(invalid_token(format!(
            "capability token has {n} blocks; at most {MAX_TOKEN_BLOCKS}"
        )));
    }
    Ok(ParsedToken { bytes, biscuit })
}

/// Decodes `token` and verifies it under `root`.
fn parse(root: &PublicKey, token: &str) -> Result<ParsedToken, TokenCheck> {
    parse_bytes(root, decode(token)?)
}

/// Tokens whose signature chain and block count this server already verified, by their
/// decoded bytes: the same bytes verify the same way under the server's one root key (the
/// caller passes that key; it never changes), so a token sent again skips the parse and the
/// signature checks. Every authorization check still runs per request, against that request's
/// operation, spend and time. Bounded: at most 1024 tokens (`VERIFIED_TOKENS_MAX`) of at most
/// [`MAX_CAPABILITY_TOKEN_BYTES`] each; emptied when full.
#[derive(Default)]
pub struct VerifiedTokens(parking_lot::Mutex<HashMap<Vec<u8>, Arc<ParsedToken>>>);

/// Most tokens [`VerifiedTokens`] keeps.
const VERIFIED_TOKENS_MAX: usize = 1024;

impl VerifiedTokens {
    /// `token` decoded and verified under `root` (the server's one root key), from the cache
    /// when these bytes verified before; a token that does not verify is never kept.
    pub fn get(&self, root: &PublicKey, token: &str) -> Result<Arc<ParsedToken>, TokenCheck> {
        let bytes = decode(token)?;
        if let Some(t) = self.0.lock().get(&bytes) {
            return Ok(t.clone());
        }
        let t = Arc::new(parse_bytes(root, bytes)?);
        let mut m = self.0.lock();
        if m.len() >= VERIFIED_TOKENS_MAX {
            m.clear();
        }
        m.insert(t.bytes.clone(), t.clone());
        Ok(t)
    }
}

/// The authorization of one request against a verified token (see [`authorize_call`]).
pub fn authorize_parsed(
    t: &ParsedToken,
    tenant: &str,
    intent: &str,
    operation: &str,
    spend: i64,
    now: SystemTime,
) -> (TokenCheck, Vec<CallLimit>) {
    let deny = |code, msg: String| (TokenCheck::Deny(code, msg), Vec::new());
    let (bytes, biscuit) = (&t.bytes, &t.biscuit);
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
            // This server counts every block's `delegated_max_calls` (see `decide` in the verify route).
            .fact(biscuit_auth::builder::fact(
                FACT_MAX_CALLS_ENFORCED,
                &[biscuit_auth::builder::boolean(true)],
            ))?
            .policy("allow if true")?
            .build(biscuit)
    };
    let mut authz = match build() {
        Ok(a) => a,
        Err(e) => {
            return deny(
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
        Some(t) => return deny("tenant_mismatch", format!("token is bound to tenant {t:?}")),
        None => return deny("invalid_token", "token names no tenant".into()),
    }
    match tok_intent {
        Some(i) if i.eq_ignore_ascii_case(intent) => {}
        Some(i) => {
            return deny(
                "token_intent_mismatch",
                format!("token is bound to intent {i}, not {intent}"),
            )
        }
        None => return deny("invalid_token", "token names no intent".into()),
    }
    match authz.authorize() {
        Ok(_) => {}
        Err(TokenError::FailedLogic(Logic::Unauthorized { checks, .. })) => {
            let failed: Vec<(Option<u32>, String)> = checks
                .iter()
                .map(|c| match c {
                    biscuit_auth::error::FailedCheck::Block(b) => {
                        (Some(b.block_id), b.rule.clone())
                    }
                    biscuit_auth::error::FailedCheck::Authorizer(a) => (None, a.rule.clone()),
                })
                .collect();
            let (code, block) = classify(&failed);
            let joined = failed
                .iter()
                .map(|f| f.1.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let what = match (code, block) {
                ("operation_not_allowed", Some(b)) if b > 0 => {
                    format!("operation {operation:?} is not allowed by attenuation block {b}")
                }
                ("operation_not_allowed", _) => {
                    format!("operation {operation:?} is not allowed by this token")
                }
                ("spend_cap_exceeded", Some(b)) => {
                    format!("spend {spend} is above the per-call cap of attenuation block {b}")
                }
                ("token_expired", Some(b)) if b > 0 => {
                    format!("attenuation block {b} has expired")
                }
                ("token_expired", _) => "the capability token has expired".into(),
                _ => "capability check failed".into(),
            };
            return deny(code, format!("{what} ({joined})"));
        }
        Err(e) => return deny("invalid_token", format!("capability token rejected: {e}")),
    }
    if biscuit.block_count() == 1 {
        return (TokenCheck::Ok, Vec::new());
    }
    // The attenuation blocks' `max_calls`, read with the kit's reader (the
    // token verified above, so what it reads is what the holder signed).
    match paybond_kit::attenuate::read_token_scope_bytes(bytes) {
        Ok(scope) => {
            let ids: Vec<String> = biscuit
                .revocation_identifiers()
                .iter()
                .map(hex::encode)
                .collect();
            let limits = scope
                .call_limits()
                .into_iter()
                .map(|(block, _, max_calls)| CallLimit {
                    block,
                    revocation_id: ids.get(block).cloned().unwrap_or_default(),
                    max_calls,
                })
                .collect();
            (TokenCheck::Ok, limits)
        }
        // Fail closed: a limit this server cannot read is never ignored.
        Err(e) => deny(
            "invalid_token",
            format!("cannot read the token's attenuation blocks: {e}"),
        ),
    }
}

/// Whether `rule` uses predicate `name` (not merely a name ending in it).
fn mentions(rule: &str, name: &str) -> bool {
    rule.match_indices(name).any(|(i, _)| {
        let before = rule[..i].chars().next_back();
        let after = rule[i + name.len()..].chars().next();
        after == Some('(') && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The deny code for the failed checks, and the block it is about.
/// Expiry first, then operations, then spend: the authority's per-call cap
/// is `budget_exceeded` (as before attenuation existed), an attenuation
/// block's cap is `spend_cap_exceeded`.
fn classify(failed: &[(Option<u32>, String)]) -> (&'static str, Option<usize>) {
    let find = |name: &str| {
        failed
            .iter()
            .filter(|(_, r)| mentions(r, name))
            .map(|(b, _)| b.map(|b| b as usize))
            .max()
    };
    if let Some(b) = find("time") {
        return ("token_expired", b);
    }
    if let Some(b) = find("operation") {
        return ("operation_not_allowed", b);
    }
    if let Some(b) = find("spend") {
        return match b {
            Some(b) if b > 0 => ("spend_cap_exceeded", Some(b)),
            other => ("budget_exceeded", other),
        };
    }
    ("check_failed", None)
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

    #[test]
    fn every_appended_block_is_enforced_with_a_clear_code() {
        use paybond_kit::attenuate::{attenuate_token, AttenuationInput};
        use paybond_kit::input::HostNumber;
        use paybond_kit::{FieldStyle, Secret};
        let root = KeyPair::new();
        let now = SystemTime::now();
        let g = Grant {
            tenant_id: "t1".into(),
            intent_id: "7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401".into(),
            operations: vec!["book".into(), "search".into()],
            budget_cents: 1000,
            expires_at: now + Duration::from_secs(600),
        };
        let tok = Secret::new(mint(&root, &g).unwrap());
        let a = AttenuationInput {
            tools: Some(vec!["search".into()]),
            max_spend_per_call_cents: Some(HostNumber::Int(100)),
            expires_in_seconds: Some(HostNumber::Int(60)),
            max_calls: Some(HostNumber::Int(2)),
        }
        .check(FieldStyle::Snake)
        .unwrap();
        let child = attenuate_token(&tok, &a, FieldStyle::Snake, now).unwrap();
        let (pk, i) = (root.public(), g.intent_id.as_str());
        let run = |op: &str, spend: i64, at: SystemTime| {
            authorize_call(&pk, child.expose(), "t1", i, op, spend, at)
        };
        let (ok, limits) = run("search", 100, now);
        assert_eq!(ok, TokenCheck::Ok);
        assert_eq!(limits.len(), 1);
        assert_eq!((limits[0].block, limits[0].max_calls), (1, 2));
        assert_eq!(limits[0].revocation_id.len(), 128);
        let code = |c: TokenCheck| match c {
            TokenCheck::Deny(code, _) => code,
            TokenCheck::Ok => "ok",
        };
        assert_eq!(code(run("book", 1, now).0), "operation_not_allowed");
        assert_eq!(code(run("search", 101, now).0), "spend_cap_exceeded");
        assert_eq!(code(run("search", 1001, now).0), "spend_cap_exceeded");
        assert_eq!(
            code(run("search", 1, now + Duration::from_secs(61)).0),
            "token_expired"
        );
        // The parent is untouched.
        assert_eq!(
            code(authorize(&pk, tok.expose(), "t1", i, "search", 1001, now)),
            "budget_exceeded"
        );
        assert!(run("book", 1, now).1.is_empty(), "no limits on a deny");
    }

    #[test]
    fn mentions_matches_whole_predicate_names() {
        assert!(mentions(
            "check if operation($op), delegated_operation($op)",
            "operation"
        ));
        assert!(!mentions("check if delegated_operation($op)", "operation"));
        assert!(!mentions("check if spend_total($s)", "spend"));
        assert!(mentions(
            "check if time($t), delegated_expires_at($e), $t <= $e",
            "time"
        ));
    }
}
