//! Delegation by attenuation: a narrower capability token for a sub-agent,
//! computed offline (no request) by appending a Biscuit block.
//!
//! A Biscuit holder can append blocks but never remove one, and every block's
//! checks must pass at verify time. A block can therefore only narrow what
//! the token allows. The block this module appends holds facts that describe
//! the narrower scope and checks that hold those facts against what Harbor
//! supplies at verify time (`operation($op)`, `spend($s)`, `time($t)`):
//!
//! ```text
//! delegated_operation("search");            // one per allowed operation (when `tools` is given)
//! check if operation($op), delegated_operation($op);
//! delegated_spend_cap(500);                 // when `max_spend_per_call_cents` is given
//! check if spend($s), delegated_spend_cap($c), $s <= $c;
//! delegated_expires_at(2026-12-01T10:00:00Z); // when `expires_in_seconds` is given
//! check if time($t), delegated_expires_at($e), $t <= $e;
//! delegated_max_calls(3);                   // when `max_calls` is given
//! check if max_calls_enforced(true);
//! ```
//!
//! Why this cannot widen anything: a block's checks see only its own facts,
//! the authority block's (signed by Harbor's root key) and Harbor's; facts in
//! a later block are invisible to earlier checks and to the authority's. So a
//! block that claims `allowed_operation("pay")`, another `tenant`/`intent`, or
//! a higher cap grants nothing. `max_calls` is counted by Harbor per block
//! (by the block's revocation id); the `max_calls_enforced` check makes a
//! Harbor that does not count calls deny instead of ignoring the limit.
//!
//! The kit refuses, before any request, an attenuation that asks for more
//! than the parent token allows (a tool it does not allow, a higher per-call
//! cap, a later expiry, more calls): it reads the parent's scope from the
//! token itself, without trusting it (Harbor is the authority), through
//! biscuit-auth's own Datalog: each block's source is loaded into an
//! authorizer and queried.

use crate::capability::{decode_token_bytes, FACT_INTENT, FACT_TENANT};
use crate::error::{Error, Result};
use crate::guard::ToolGuard;
use crate::input::{integer_in, FieldStyle, HostNumber, MAX_SAFE_INTEGER};
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use biscuit_auth::builder::{self as bb, AuthorizerBuilder, BlockBuilder};
use biscuit_auth::{Authorizer, AuthorizerLimits, UnverifiedBiscuit};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Authority fact naming an operation the token allows: `allowed_operation("…")`.
pub const FACT_ALLOWED_OPERATION: &str = "allowed_operation";
/// Authority fact with the most one call may spend: `budget_cents(N)`.
pub const FACT_BUDGET_CENTS: &str = "budget_cents";
/// Authority fact with the token's expiry: `expires_at(<date>)`.
pub const FACT_EXPIRES_AT: &str = "expires_at";
/// Attenuation-block fact naming an operation the block still allows.
pub const FACT_DELEGATED_OPERATION: &str = "delegated_operation";
/// Attenuation-block fact with the block's per-call spend cap.
pub const FACT_DELEGATED_SPEND_CAP: &str = "delegated_spend_cap";
/// Attenuation-block fact with the block's expiry.
pub const FACT_DELEGATED_EXPIRES_AT: &str = "delegated_expires_at";
/// Attenuation-block fact with how many calls Harbor allows under the block.
pub const FACT_DELEGATED_MAX_CALLS: &str = "delegated_max_calls";
/// Fact Harbor supplies at verify time when it counts `delegated_max_calls`:
/// `max_calls_enforced(true)`.
pub const FACT_MAX_CALLS_ENFORCED: &str = "max_calls_enforced";

/// Most tools one attenuation may name.
pub const MAX_TOOLS: usize = 256;
/// Longest tool (operation) name, in characters.
pub const MAX_TOOL_NAME_CHARS: usize = 256;
/// Largest `expires_in_seconds` (365 days).
pub const MAX_EXPIRES_IN_SECONDS: u64 = 365 * 24 * 3600;
/// Largest `max_calls`.
pub const MAX_CALLS: u64 = 1_000_000;
/// Most blocks the kit reads or writes in one token (the authority block included).
pub const MAX_TOKEN_BLOCKS: usize = 32;

/// What a caller asks to narrow, exactly as the host language gave it; see
/// [`AttenuationInput::check`]. Every field left out keeps the parent's limit.
#[derive(Clone, Debug, Default)]
pub struct AttenuationInput {
    /// Tool names the child may call (each must be allowed by the parent).
    pub tools: Option<Vec<String>>,
    /// The most one call may spend (at most the parent's cap).
    pub max_spend_per_call_cents: Option<HostNumber>,
    /// The child expires this many seconds from now (not after the parent).
    pub expires_in_seconds: Option<HostNumber>,
    /// How many calls Harbor allows under the child's block.
    pub max_calls: Option<HostNumber>,
}

/// A checked attenuation: the narrowing one appended block expresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attenuation {
    /// Allowed operations (trimmed, ASCII lower case, as Harbor compares them).
    pub operations: Option<BTreeSet<String>>,
    /// Per-call spend cap in cents (`0..=2^53-1`).
    pub max_spend_per_call_cents: Option<u64>,
    /// Lifetime from now, in whole seconds (`1..=MAX_EXPIRES_IN_SECONDS`).
    pub expires_in_seconds: Option<u64>,
    /// Calls allowed under the block (`1..=MAX_CALLS`).
    pub max_calls: Option<u64>,
}

impl AttenuationInput {
    /// Checks every field with the core's input rules; errors are
    /// [`Error::InvalidArgument`] naming the field in `style` (`tools`,
    /// `max_spend_per_call_cents` / `maxSpendPerCallCents`, `expires_in_seconds`,
    /// `max_calls`). Tool names are used as operations as given.
    pub fn check(&self, style: FieldStyle) -> Result<Attenuation> {
        self.check_with(style, &|t: &str| t.to_owned())
    }

    /// [`AttenuationInput::check`], mapping each tool name to its Harbor
    /// operation with `operation_for` first (a guard's `operations` table).
    pub fn check_with(
        &self,
        style: FieldStyle,
        operation_for: &dyn Fn(&str) -> String,
    ) -> Result<Attenuation> {
        let operations = match &self.tools {
            None => None,
            Some(tools) => Some(operations(style, tools, operation_for)?),
        };
        let number = |field: &str, v: &Option<HostNumber>, min: u64, max: u64| {
            v.as_ref()
                .map(|n| integer_in(style, field, n, min, max))
                .transpose()
        };
        Ok(Attenuation {
            operations,
            max_spend_per_call_cents: number(
                "max_spend_per_call_cents",
                &self.max_spend_per_call_cents,
                0,
                MAX_SAFE_INTEGER,
            )?,
            expires_in_seconds: number(
                "expires_in_seconds",
                &self.expires_in_seconds,
                1,
                MAX_EXPIRES_IN_SECONDS,
            )?,
            max_calls: number("max_calls", &self.max_calls, 1, MAX_CALLS)?,
        })
    }
}

/// Harbor's spelling of an operation: trimmed, ASCII lower case.
pub fn normalize_operation(op: &str) -> String {
    op.trim().to_ascii_lowercase()
}

fn operations(
    style: FieldStyle,
    tools: &[String],
    operation_for: &dyn Fn(&str) -> String,
) -> Result<BTreeSet<String>> {
    let bad = |m: String| style.invalid("tools", m);
    if tools.is_empty() {
        return Err(bad(
            "must name at least one tool (leave it out to keep the parent's tools)".into(),
        ));
    }
    if tools.len() > MAX_TOOLS {
        return Err(bad(format!(
            "names {} tools; at most {MAX_TOOLS}",
            tools.len()
        )));
    }
    let mut out = BTreeSet::new();
    for (i, tool) in tools.iter().enumerate() {
        if tool.trim().is_empty() {
            return Err(bad(format!("item {i} is blank")));
        }
        let op = normalize_operation(&operation_for(tool));
        if op.is_empty() {
            return Err(bad(format!("tool {tool:?} maps to a blank operation")));
        }
        if op.chars().count() > MAX_TOOL_NAME_CHARS || tool.chars().count() > MAX_TOOL_NAME_CHARS {
            return Err(bad(format!(
                "item {i} is longer than {MAX_TOOL_NAME_CHARS} characters"
            )));
        }
        if op.chars().any(char::is_control) {
            return Err(bad(format!("item {i} contains a control character")));
        }
        out.insert(op);
    }
    Ok(out)
}

/// What one block of a token says (read without trusting it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockScope {
    /// Block index: 0 is the authority block (minted by Harbor).
    pub index: usize,
    /// The block's revocation id (its signature), lower-case hex. Harbor
    /// counts `max_calls` by it.
    pub revocation_id: String,
    /// Operations the block allows (`None`: the block does not restrict them).
    /// Authority: `allowed_operation`; later blocks: `delegated_operation`.
    pub operations: Option<BTreeSet<String>>,
    /// Per-call cap (authority: `budget_cents`; later: `delegated_spend_cap`).
    pub max_spend_per_call_cents: Option<i64>,
    /// Expiry (authority: `expires_at`; later: `delegated_expires_at`).
    pub expires_at: Option<SystemTime>,
    /// `delegated_max_calls` (later blocks only).
    pub max_calls: Option<u64>,
}

/// What a capability token allows, block by block (read without trusting it:
/// Harbor is the authority, this read only lets the kit refuse early).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenScope {
    /// `tenant("…")` of the authority block.
    pub tenant_id: Option<String>,
    /// `intent("…")` of the authority block (lower case).
    pub intent_id: Option<String>,
    /// Every block, the authority block first.
    pub blocks: Vec<BlockScope>,
}

impl TokenScope {
    /// The operations every block allows (the authority's, narrowed by each
    /// later block that restricts them). Empty: nothing is allowed.
    pub fn operations(&self) -> BTreeSet<String> {
        let mut blocks = self.blocks.iter();
        let mut ops = blocks
            .next()
            .and_then(|b| b.operations.clone())
            .unwrap_or_default();
        for b in blocks {
            if let Some(o) = &b.operations {
                ops = ops.intersection(o).cloned().collect();
            }
        }
        ops
    }

    /// The lowest per-call cap of any block.
    pub fn max_spend_per_call_cents(&self) -> Option<i64> {
        self.blocks
            .iter()
            .filter_map(|b| b.max_spend_per_call_cents)
            .min()
    }

    /// The earliest expiry of any block.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.blocks.iter().filter_map(|b| b.expires_at).min()
    }

    /// The lowest `max_calls` of any block.
    pub fn max_calls(&self) -> Option<u64> {
        self.blocks.iter().filter_map(|b| b.max_calls).min()
    }

    /// Blocks with a `max_calls` limit: `(block index, revocation id, limit)`.
    pub fn call_limits(&self) -> Vec<(usize, String, u64)> {
        self.blocks
            .iter()
            .filter_map(|b| b.max_calls.map(|m| (b.index, b.revocation_id.clone(), m)))
            .collect()
    }

    /// Whether every block's limits admit `operation` (normalized) spending
    /// `spend` at `now` — a model of the token's checks, ignoring `max_calls`
    /// counts (only Harbor knows them).
    pub fn admits(&self, operation: &str, spend: i64, now: SystemTime) -> bool {
        let op = normalize_operation(operation);
        self.operations().contains(&op)
            && self.max_spend_per_call_cents().is_none_or(|c| spend <= c)
            && self
                .expires_at()
                .is_none_or(|e| whole_seconds(now) <= whole_seconds(e))
    }
}

fn unreadable(message: impl std::fmt::Display) -> Error {
    Error::invalid_argument(
        "capability_token",
        format!("cannot read the capability token: {message}"),
    )
}

/// Reads the scope of `token` (standard or URL-safe base64 Biscuit).
/// [`Error::InvalidArgument`] (`capability_token`) when it is not a Biscuit
/// or a block cannot be read.
pub fn read_token_scope(token: &str) -> Result<TokenScope> {
    let bytes = decode_token_bytes(token).ok_or_else(|| unreadable("not base64"))?;
    read_token_scope_bytes(&bytes)
}

/// [`read_token_scope`] from the token's raw bytes.
pub fn read_token_scope_bytes(bytes: &[u8]) -> Result<TokenScope> {
    let token = UnverifiedBiscuit::from(bytes)
        .map_err(|e| unreadable(format!("not a Biscuit token ({e})")))?;
    scope_of(&token)
}

fn scope_of(token: &UnverifiedBiscuit) -> Result<TokenScope> {
    let count = token.block_count();
    if count > MAX_TOKEN_BLOCKS {
        return Err(unreadable(format!(
            "it has {count} blocks; at most {MAX_TOKEN_BLOCKS} are read"
        )));
    }
    let ids = token.revocation_identifiers();
    let mut scope = TokenScope::default();
    for index in 0..count {
        let source = token
            .print_block_source(index)
            .map_err(|e| unreadable(format!("block {index}: {e}")))?;
        let mut authz =
            block_authorizer(&source).map_err(|e| unreadable(format!("block {index}: {e}")))?;
        let read = |e: biscuit_auth::error::Token| unreadable(format!("block {index}: {e}"));
        if index == 0 {
            scope.tenant_id = strings(&mut authz, FACT_TENANT)
                .map_err(read)?
                .into_iter()
                .next();
            scope.intent_id = strings(&mut authz, FACT_INTENT)
                .map_err(read)?
                .into_iter()
                .next()
                .map(|s| s.to_ascii_lowercase());
        }
        let (ops, cap, exp) = if index == 0 {
            (FACT_ALLOWED_OPERATION, FACT_BUDGET_CENTS, FACT_EXPIRES_AT)
        } else {
            (
                FACT_DELEGATED_OPERATION,
                FACT_DELEGATED_SPEND_CAP,
                FACT_DELEGATED_EXPIRES_AT,
            )
        };
        let operations: BTreeSet<String> = strings(&mut authz, ops)
            .map_err(read)?
            .iter()
            .map(|o| normalize_operation(o))
            .collect();
        let max_calls = if index == 0 {
            None
        } else {
            let calls: Vec<(i64,)> = authz
                .query(format!("data($n) <- {FACT_DELEGATED_MAX_CALLS}($n)").as_str())
                .map_err(read)?;
            // A negative limit allows nothing.
            calls.into_iter().map(|c| c.0.max(0) as u64).min()
        };
        let caps: Vec<(i64,)> = authz
            .query(format!("data($n) <- {cap}($n)").as_str())
            .map_err(read)?;
        let exps: Vec<(SystemTime,)> = authz
            .query(format!("data($t) <- {exp}($t)").as_str())
            .map_err(read)?;
        scope.blocks.push(BlockScope {
            index,
            revocation_id: ids.get(index).map(hex::encode).unwrap_or_default(),
            // The authority block always restricts operations (none listed: none allowed).
            operations: (index == 0 || !operations.is_empty()).then_some(operations),
            max_spend_per_call_cents: caps.into_iter().map(|c| c.0).min(),
            expires_at: exps.into_iter().map(|t| t.0).min(),
            max_calls,
        });
    }
    Ok(scope)
}

/// One block's Datalog, printed by biscuit-auth and loaded back into an
/// authorizer of its own (so its facts are queried with biscuit's evaluator,
/// never by reading text).
fn block_authorizer(source: &str) -> std::result::Result<Authorizer, biscuit_auth::error::Token> {
    let block = BlockBuilder::new().code(source)?;
    AuthorizerBuilder::new()
        .set_limits(AuthorizerLimits {
            max_facts: 1000,
            max_iterations: 100,
            max_time: Duration::from_millis(100),
        })
        .merge_block(block)
        .build_unauthenticated()
}

fn strings(
    authz: &mut Authorizer,
    name: &str,
) -> std::result::Result<Vec<String>, biscuit_auth::error::Token> {
    let r: Vec<(String,)> = authz.query(format!("data($x) <- {name}($x)").as_str())?;
    Ok(r.into_iter().map(|x| x.0).collect())
}

/// The string facts `names[k]("…")` of block `index` of `token`, one list per
/// name, read with biscuit-auth's Datalog (`None` when the token or the block
/// does not parse).
pub fn block_string_facts(token: &str, index: usize, names: &[&str]) -> Option<Vec<Vec<String>>> {
    let bytes = decode_token_bytes(token)?;
    let t = UnverifiedBiscuit::from(&bytes).ok()?;
    let source = t.print_block_source(index).ok()?;
    let mut authz = block_authorizer(&source).ok()?;
    names.iter().map(|n| strings(&mut authz, n).ok()).collect()
}

fn whole_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fmt_time(t: SystemTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(whole_seconds(t).min(253_402_300_799) as i64)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Appends to `token` one block expressing `a` (see the module docs), after
/// refusing anything that asks for more than the token allows: a tool it
/// does not allow (`tools`), a higher per-call cap
/// (`max_spend_per_call_cents`), an expiry after the token's
/// (`expires_in_seconds`, counted from `now`), more calls (`max_calls`).
/// Errors are [`Error::InvalidArgument`] naming the field in `style`
/// (`capability_token` when the token is not a readable Biscuit, or cannot
/// take another block). Offline: no request is made.
pub fn attenuate_token(
    token: &Secret,
    a: &Attenuation,
    style: FieldStyle,
    now: SystemTime,
) -> Result<Secret> {
    let bytes = decode_token_bytes(token.expose()).ok_or_else(|| unreadable("not base64"))?;
    let parent = UnverifiedBiscuit::from(&bytes)
        .map_err(|e| unreadable(format!("not a Biscuit token ({e})")))?;
    let scope = scope_of(&parent)?;
    if parent.block_count() >= MAX_TOKEN_BLOCKS {
        return Err(unreadable(format!(
            "it already has {} blocks; at most {MAX_TOKEN_BLOCKS}",
            parent.block_count()
        )));
    }
    if let Some(ops) = &a.operations {
        let allowed = scope.operations();
        if let Some(op) = ops.iter().find(|o| !allowed.contains(*o)) {
            let list: Vec<String> = allowed.iter().map(|o| format!("{o:?}")).collect();
            return Err(style.invalid(
                "tools",
                format!(
                    "{op:?} is not allowed by the parent token (it allows: {})",
                    if list.is_empty() {
                        "nothing".into()
                    } else {
                        list.join(", ")
                    }
                ),
            ));
        }
    }
    if let (Some(cap), Some(parent_cap)) =
        (a.max_spend_per_call_cents, scope.max_spend_per_call_cents())
    {
        if i128::from(cap) > i128::from(parent_cap) {
            return Err(style.invalid(
                "max_spend_per_call_cents",
                format!(
                    "{cap} is above the parent token's per-call cap of {}",
                    parent_cap.max(0)
                ),
            ));
        }
    }
    let now_s = whole_seconds(now);
    let expiry = match a.expires_in_seconds {
        None => None,
        Some(secs) => {
            let exp = now_s.saturating_add(secs);
            if let Some(parent_exp) = scope.expires_at() {
                let pe = whole_seconds(parent_exp);
                if exp > pe {
                    let left = pe.saturating_sub(now_s);
                    return Err(style.invalid(
                        "expires_in_seconds",
                        format!(
                            "{secs} s would outlive the parent token, which expires at {} ({left} s from now)",
                            fmt_time(parent_exp)
                        ),
                    ));
                }
            }
            Some(UNIX_EPOCH + Duration::from_secs(exp))
        }
    };
    if let (Some(n), Some(parent_n)) = (a.max_calls, scope.max_calls()) {
        if n > parent_n {
            return Err(style.invalid(
                "max_calls",
                format!("{n} is more than the parent token's {parent_n} calls"),
            ));
        }
    }
    let block = block_for(a, expiry).map_err(|e| Error::Internal {
        message: format!("cannot build the attenuation block: {e}"),
    })?;
    let child = parent
        .append(block)
        .map_err(|e| unreadable(format!("it cannot take another block ({e})")))?;
    let out = child
        .to_vec()
        .map_err(|e| unreadable(format!("cannot serialize the attenuated token ({e})")))?;
    Ok(Secret::new(STANDARD.encode(out)))
}

fn block_for(
    a: &Attenuation,
    expiry: Option<SystemTime>,
) -> std::result::Result<BlockBuilder, biscuit_auth::error::Token> {
    let mut b = BlockBuilder::new();
    // Values enter through typed terms, never through Datalog text.
    if let Some(ops) = &a.operations {
        for op in ops {
            b = b.fact(bb::fact(FACT_DELEGATED_OPERATION, &[bb::string(op)]))?;
        }
        b =
            b.check(format!("check if operation($op), {FACT_DELEGATED_OPERATION}($op)").as_str())?;
    }
    if let Some(cap) = a.max_spend_per_call_cents {
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        b = b.fact(bb::fact(FACT_DELEGATED_SPEND_CAP, &[bb::int(cap)]))?;
        b = b.check(
            format!("check if spend($s), {FACT_DELEGATED_SPEND_CAP}($c), $s <= $c").as_str(),
        )?;
    }
    if let Some(exp) = expiry {
        b = b.fact(bb::fact(FACT_DELEGATED_EXPIRES_AT, &[bb::date(&exp)]))?;
        b = b.check(
            format!("check if time($t), {FACT_DELEGATED_EXPIRES_AT}($e), $t <= $e").as_str(),
        )?;
    }
    if let Some(n) = a.max_calls {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        b = b.fact(bb::fact(FACT_DELEGATED_MAX_CALLS, &[bb::int(n)]))?;
        b = b.check(format!("check if {FACT_MAX_CALLS_ENFORCED}(true)").as_str())?;
    }
    Ok(b)
}

impl ToolGuard {
    /// A guard for a sub-agent: the same Harbor client, intent and options,
    /// with this guard's capability token narrowed offline by one appended
    /// block (see [`attenuate_token`]). Tool names in `input.tools` are mapped
    /// through this guard's `operations` table first. Spend under the child
    /// counts against the same intent; the child's calls have their own
    /// single-use call ids.
    ///
    /// Errors: [`Error::InvalidArgument`] naming the field in `style` — a bad
    /// value, or one that asks for more than this guard's token allows.
    pub fn attenuate(&self, input: &AttenuationInput, style: FieldStyle) -> Result<ToolGuard> {
        let a = input.check_with(style, &|t: &str| self.operation_for(t).to_owned())?;
        let token = attenuate_token(self.capability_token(), &a, style, SystemTime::now())?;
        ToolGuard::new(
            self.harbor().clone(),
            &self.intent_id(),
            token,
            self.options().clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use biscuit_auth::{Biscuit, KeyPair};
    use proptest::prelude::*;

    const INTENT: &str = "7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401";

    /// A token shaped like the dev server's (the same authority facts and checks).
    fn mint(root: &KeyPair, ops: &[&str], cap: i64, expires_at: SystemTime) -> Secret {
        let mut b = Biscuit::builder()
            .fact(bb::fact(FACT_TENANT, &[bb::string("t1")]))
            .unwrap()
            .fact(bb::fact(FACT_INTENT, &[bb::string(INTENT)]))
            .unwrap()
            .fact(bb::fact(FACT_BUDGET_CENTS, &[bb::int(cap)]))
            .unwrap()
            .fact(bb::fact(FACT_EXPIRES_AT, &[bb::date(&expires_at)]))
            .unwrap();
        for op in ops {
            b = b
                .fact(bb::fact(FACT_ALLOWED_OPERATION, &[bb::string(op)]))
                .unwrap();
        }
        let b = b
            .code(
                "check if operation($op), allowed_operation($op);\n\
                 check if spend($s), budget_cents($b), $s <= $b;\n\
                 check if time($t), expires_at($e), $t <= $e;",
            )
            .unwrap()
            .build(root)
            .unwrap();
        Secret::new(STANDARD.encode(b.to_vec().unwrap()))
    }

    /// What Biscuit itself decides for a call (every block's checks).
    fn allows(root: &KeyPair, token: &Secret, op: &str, spend: i64, now: SystemTime) -> bool {
        let bytes = decode_token_bytes(token.expose()).unwrap();
        let b = Biscuit::from(&bytes, root.public()).unwrap();
        let mut a = AuthorizerBuilder::new()
            .set_limits(AuthorizerLimits {
                max_facts: 1000,
                max_iterations: 100,
                max_time: Duration::from_secs(1),
            })
            .fact(bb::fact("operation", &[bb::string(op)]))
            .unwrap()
            .fact(bb::fact("spend", &[bb::int(spend)]))
            .unwrap()
            .fact(bb::fact("time", &[bb::date(&now)]))
            .unwrap()
            .fact(bb::fact(FACT_MAX_CALLS_ENFORCED, &[bb::boolean(true)]))
            .unwrap()
            .policy("allow if true")
            .unwrap()
            .build(&b)
            .unwrap();
        a.authorize().is_ok()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const NOW: u64 = 1_800_000_000;

    fn input(
        tools: Option<&[&str]>,
        cap: Option<i128>,
        exp: Option<i128>,
        calls: Option<i128>,
    ) -> AttenuationInput {
        AttenuationInput {
            tools: tools.map(|t| t.iter().map(|s| s.to_string()).collect()),
            max_spend_per_call_cents: cap.map(HostNumber::Int),
            expires_in_seconds: exp.map(HostNumber::Int),
            max_calls: calls.map(HostNumber::Int),
        }
    }

    fn attenuate(parent: &Secret, i: &AttenuationInput) -> Result<Secret> {
        let a = i.check(FieldStyle::Snake)?;
        attenuate_token(parent, &a, FieldStyle::Snake, at(NOW))
    }

    fn field(e: &Error) -> &str {
        match e {
            Error::InvalidArgument { field, .. } => field,
            _ => panic!("expected InvalidArgument, got {e:?}"),
        }
    }

    #[test]
    fn reads_the_parent_scope_with_datalog() {
        let root = KeyPair::new();
        let parent = mint(&root, &["search", "book"], 1000, at(NOW + 600));
        let s = read_token_scope(parent.expose()).unwrap();
        assert_eq!(s.tenant_id.as_deref(), Some("t1"));
        assert_eq!(s.intent_id.as_deref(), Some(INTENT));
        assert_eq!(s.operations(), ["book", "search"].map(String::from).into());
        assert_eq!(s.max_spend_per_call_cents(), Some(1000));
        assert_eq!(s.expires_at(), Some(at(NOW + 600)));
        assert_eq!(s.max_calls(), None);
        assert_eq!(s.blocks.len(), 1);
        assert_eq!(s.blocks[0].revocation_id.len(), 128);
    }

    #[test]
    fn narrows_every_limit_and_biscuit_enforces_it() {
        let root = KeyPair::new();
        let parent = mint(&root, &["search", "book"], 1000, at(NOW + 600));
        let child = attenuate(
            &parent,
            &input(Some(&[" Search "]), Some(100), Some(60), Some(2)),
        )
        .unwrap();
        let s = read_token_scope(child.expose()).unwrap();
        assert_eq!(s.blocks.len(), 2);
        assert_eq!(s.operations(), ["search".to_string()].into());
        assert_eq!(s.max_spend_per_call_cents(), Some(100));
        assert_eq!(s.expires_at(), Some(at(NOW + 60)));
        assert_eq!(s.max_calls(), Some(2));
        let limits = s.call_limits();
        assert_eq!(limits.len(), 1);
        assert_eq!((limits[0].0, limits[0].2), (1, 2));
        assert_eq!(limits[0].1, s.blocks[1].revocation_id);
        // The same tenant and intent: the kit's binding check still passes.
        let b = crate::capability::read_token_binding(child.expose()).unwrap();
        assert_eq!(b.intent_id.as_deref(), Some(INTENT));
        let now = at(NOW);
        assert!(allows(&root, &child, "search", 100, now));
        assert!(allows(&root, &parent, "book", 100, now));
        assert!(!allows(&root, &child, "book", 100, now));
        assert!(!allows(&root, &child, "search", 101, now));
        assert!(!allows(&root, &child, "search", 1, at(NOW + 61)));
        assert!(allows(&root, &parent, "search", 1, at(NOW + 61)));
    }

    #[test]
    fn nested_attenuation_narrows_the_narrowed_scope() {
        let root = KeyPair::new();
        let parent = mint(&root, &["a", "b", "c"], 1000, at(NOW + 600));
        let child =
            attenuate(&parent, &input(Some(&["a", "b"]), Some(500), None, Some(5))).unwrap();
        let e = attenuate(&child, &input(Some(&["c"]), None, None, None)).unwrap_err();
        assert_eq!(field(&e), "tools");
        assert!(e.to_string().contains("\"c\" is not allowed"), "{e}");
        let e = attenuate(&child, &input(None, Some(501), None, None)).unwrap_err();
        assert_eq!(field(&e), "max_spend_per_call_cents");
        let e = attenuate(&child, &input(None, None, None, Some(6))).unwrap_err();
        assert_eq!(field(&e), "max_calls");
        let grandchild =
            attenuate(&child, &input(Some(&["b"]), Some(500), Some(600), Some(5))).unwrap();
        let s = read_token_scope(grandchild.expose()).unwrap();
        assert_eq!(s.blocks.len(), 3);
        assert_eq!(s.operations(), ["b".to_string()].into());
        assert_eq!(s.call_limits().len(), 2);
        assert!(allows(&root, &grandchild, "b", 500, at(NOW)));
        assert!(!allows(&root, &grandchild, "a", 1, at(NOW)));
    }

    #[test]
    fn refuses_widening_with_typed_errors() {
        let root = KeyPair::new();
        let parent = mint(&root, &["search"], 1000, at(NOW + 600));
        for (i, f) in [
            (input(Some(&["wire_money"]), None, None, None), "tools"),
            (input(Some(&["search", "book"]), None, None, None), "tools"),
            (
                input(None, Some(1001), None, None),
                "max_spend_per_call_cents",
            ),
            (input(None, None, Some(601), None), "expires_in_seconds"),
        ] {
            let e = attenuate(&parent, &i).unwrap_err();
            assert_eq!(field(&e), f, "{e}");
        }
        // Equal limits do not widen: allowed.
        attenuate(
            &parent,
            &input(Some(&["search"]), Some(1000), Some(600), None),
        )
        .unwrap();
    }

    #[test]
    fn bad_inputs_name_the_field_in_the_callers_style() {
        let bad = [
            HostNumber::Float(f64::NAN),
            HostNumber::Float(1.5),
            HostNumber::Int(-1),
            HostNumber::Bool(true),
            HostNumber::Other("str".into()),
            HostNumber::Int(i128::MAX),
        ];
        for n in &bad {
            for (i, snake, camel) in [
                (
                    AttenuationInput {
                        max_spend_per_call_cents: Some(n.clone()),
                        ..Default::default()
                    },
                    "max_spend_per_call_cents",
                    "maxSpendPerCallCents",
                ),
                (
                    AttenuationInput {
                        expires_in_seconds: Some(n.clone()),
                        ..Default::default()
                    },
                    "expires_in_seconds",
                    "expiresInSeconds",
                ),
                (
                    AttenuationInput {
                        max_calls: Some(n.clone()),
                        ..Default::default()
                    },
                    "max_calls",
                    "maxCalls",
                ),
            ] {
                assert_eq!(field(&i.check(FieldStyle::Snake).unwrap_err()), snake);
                assert_eq!(field(&i.check(FieldStyle::Camel).unwrap_err()), camel);
            }
        }
        for n in [HostNumber::Int(0), HostNumber::Float(0.0)] {
            let i = AttenuationInput {
                max_calls: Some(n.clone()),
                ..Default::default()
            };
            assert_eq!(field(&i.check(FieldStyle::Snake).unwrap_err()), "max_calls");
            let i = AttenuationInput {
                expires_in_seconds: Some(n),
                ..Default::default()
            };
            assert_eq!(
                field(&i.check(FieldStyle::Snake).unwrap_err()),
                "expires_in_seconds"
            );
        }
        for tools in [
            vec![],
            vec!["  ".to_string()],
            vec!["a\u{7}b".to_string()],
            vec!["x".repeat(257)],
            vec!["t".to_string(); MAX_TOOLS + 1],
        ] {
            let i = AttenuationInput {
                tools: Some(tools),
                ..Default::default()
            };
            assert_eq!(field(&i.check(FieldStyle::Camel).unwrap_err()), "tools");
        }
        // Zero is a valid cap (the child may only make free calls).
        let i = AttenuationInput {
            max_spend_per_call_cents: Some(HostNumber::Int(0)),
            ..Default::default()
        };
        assert_eq!(
            i.check(FieldStyle::Snake).unwrap().max_spend_per_call_cents,
            Some(0)
        );
    }

    #[test]
    fn not_a_biscuit_is_capability_token() {
        for t in [
            "",
            "not-a-token",
            "AAAA",
            &STANDARD.encode(b"garbage bytes here"),
        ] {
            let e = attenuate(&Secret::new(t), &input(None, None, None, Some(1))).unwrap_err();
            assert_eq!(field(&e), "capability_token", "{t}: {e}");
        }
    }

    #[test]
    fn forged_block_facts_are_read_but_grant_nothing() {
        let root = KeyPair::new();
        let parent = mint(&root, &["search"], 100, at(NOW + 600));
        let bytes = decode_token_bytes(parent.expose()).unwrap();
        let forged = UnverifiedBiscuit::from(&bytes)
            .unwrap()
            .append(
                BlockBuilder::new()
                    .code(
                        "allowed_operation(\"pay\"); budget_cents(1000000); tenant(\"t2\");\n\
                         intent(\"11111111-1111-4111-8111-111111111111\"); expires_at(2100-01-01T00:00:00Z);",
                    )
                    .unwrap(),
            )
            .unwrap();
        let forged = Secret::new(STANDARD.encode(forged.to_vec().unwrap()));
        let s = read_token_scope(forged.expose()).unwrap();
        assert_eq!(s.tenant_id.as_deref(), Some("t1"));
        assert_eq!(s.intent_id.as_deref(), Some(INTENT));
        assert_eq!(s.operations(), ["search".to_string()].into());
        assert_eq!(s.max_spend_per_call_cents(), Some(100));
        assert!(!allows(&root, &forged, "pay", 1, at(NOW)));
        assert!(!allows(&root, &forged, "search", 101, at(NOW)));
        // ...and the kit refuses to attenuate to what the forged block claims.
        let e = attenuate(&forged, &input(Some(&["pay"]), None, None, None)).unwrap_err();
        assert_eq!(field(&e), "tools");
    }

    #[test]
    fn a_harbor_that_does_not_count_calls_denies() {
        let root = KeyPair::new();
        let parent = mint(&root, &["search"], 100, at(NOW + 600));
        let child = attenuate(&parent, &input(None, None, None, Some(3))).unwrap();
        let bytes = decode_token_bytes(child.expose()).unwrap();
        let b = Biscuit::from(&bytes, root.public()).unwrap();
        let mut a = AuthorizerBuilder::new()
            .fact(bb::fact("operation", &[bb::string("search")]))
            .unwrap()
            .fact(bb::fact("spend", &[bb::int(1)]))
            .unwrap()
            .fact(bb::fact("time", &[bb::date(&at(NOW))]))
            .unwrap()
            .policy("allow if true")
            .unwrap()
            .build(&b)
            .unwrap();
        assert!(a.authorize().is_err());
    }

    #[test]
    fn block_string_facts_reads_the_authority() {
        let root = KeyPair::new();
        let parent = mint(&root, &["search"], 100, at(NOW + 600));
        assert_eq!(
            block_string_facts(parent.expose(), 0, &[FACT_TENANT, FACT_ALLOWED_OPERATION]),
            Some(vec![vec!["t1".to_string()], vec!["search".to_string()]])
        );
        assert_eq!(block_string_facts(parent.expose(), 3, &[FACT_TENANT]), None);
        assert_eq!(block_string_facts("junk", 0, &[FACT_TENANT]), None);
    }

    fn host_number() -> impl Strategy<Value = HostNumber> {
        prop_oneof![
            any::<i128>().prop_map(HostNumber::Int),
            (-5i128..2_000_000).prop_map(HostNumber::Int),
            any::<f64>().prop_map(HostNumber::Float),
            (-5.0f64..2000.0).prop_map(HostNumber::Float),
            any::<bool>().prop_map(HostNumber::Bool),
            "[a-z]{0,5}".prop_map(HostNumber::Other),
        ]
    }

    const UNIVERSE: [&str; 5] = ["search", "book", "pay", "read", "write"];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Whatever is asked, a successful attenuation never admits a call the parent
        /// denies (checked with Biscuit itself), and its scope is inside the parent's.
        #[test]
        fn attenuate_never_widens(
            parent_ops in proptest::sample::subsequence(UNIVERSE.to_vec(), 1..=5),
            parent_cap in 0i64..2000,
            parent_ttl in 1u64..5000,
            tools in proptest::option::of(proptest::sample::subsequence(UNIVERSE.to_vec(), 1..=5)),
            cap in proptest::option::of(0i128..3000),
            ttl in proptest::option::of(1i128..8000),
            calls in proptest::option::of(1i128..10),
            depth in 1usize..3,
            probes in proptest::collection::vec((0usize..5, 0i64..3000, 0u64..9000), 8),
        ) {
            let root = KeyPair::new();
            let parent = mint(&root, &parent_ops, parent_cap, at(NOW + parent_ttl));
            let mut token = parent.clone();
            let tool_refs: Option<Vec<&str>> = tools.clone();
            for _ in 0..depth {
                let i = input(tool_refs.as_deref(), cap, ttl, calls);
                match attenuate(&token, &i) {
                    Ok(child) => {
                        let (p, c) = (read_token_scope(token.expose()).unwrap(), read_token_scope(child.expose()).unwrap());
                        prop_assert!(c.operations().is_subset(&p.operations()));
                        prop_assert!(c.max_spend_per_call_cents() <= p.max_spend_per_call_cents());
                        prop_assert!(c.expires_at() <= p.expires_at());
                        prop_assert_eq!(c.blocks.len(), p.blocks.len() + 1);
                        for (op, spend, dt) in &probes {
                            let now = at(NOW + dt);
                            let op = UNIVERSE[*op];
                            if allows(&root, &child, op, *spend, now) {
                                prop_assert!(allows(&root, &token, op, *spend, now), "child admits {op} {spend} at +{dt} but the parent does not");
                            }
                            prop_assert_eq!(allows(&root, &child, op, *spend, now), c.admits(op, *spend, now));
                        }
                        token = child;
                    }
                    Err(e) => {
                        prop_assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
                        break;
                    }
                }
            }
        }

        /// Any host values and any token text: a typed result, never a panic.
        #[test]
        fn bad_inputs_are_typed_errors(
            tools in proptest::option::of(proptest::collection::vec(".{0,8}", 0..4)),
            cap in proptest::option::of(host_number()),
            ttl in proptest::option::of(host_number()),
            calls in proptest::option::of(host_number()),
            token in prop_oneof![".{0,64}", proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| STANDARD.encode(b))],
            camel in any::<bool>(),
        ) {
            let style = if camel { FieldStyle::Camel } else { FieldStyle::Snake };
            let i = AttenuationInput { tools, max_spend_per_call_cents: cap, expires_in_seconds: ttl, max_calls: calls };
            let root = KeyPair::new();
            let real = mint(&root, &["search"], 100, at(NOW + 100));
            for t in [Secret::new(token), real] {
                let r = i.check(style).and_then(|a| attenuate_token(&t, &a, style, at(NOW)));
                if let Err(e) = r {
                    prop_assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
                }
            }
        }
    }
}
