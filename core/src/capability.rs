//! Reads a capability token (Biscuit v3) without trusting it, to learn which
//! tenant and intent it is bound to. Harbor is the authority; this read only
//! lets the kit refuse to send a token for intent A with intent B.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// Authority-block fact naming the tenant a token is bound to: `tenant("…")`.
pub const FACT_TENANT: &str = "tenant";
/// Authority-block fact naming the intent a token is bound to: `intent("…")`.
pub const FACT_INTENT: &str = "intent";

/// What a capability token says it is bound to (unverified).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenBinding {
    /// `tenant("…")` from the authority block, if present.
    pub tenant_id: Option<String>,
    /// `intent("…")` from the authority block, if present (lower case).
    pub intent_id: Option<String>,
}

/// Decodes a token in standard or URL-safe base64.
pub fn decode_token_bytes(token: &str) -> Option<Vec<u8>> {
    let t = token.trim();
    STANDARD
        .decode(t)
        .or_else(|_| URL_SAFE.decode(t))
        .or_else(|_| URL_SAFE_NO_PAD.decode(t))
        .ok()
}

/// Reads the binding facts of `token`'s authority block with biscuit-auth's
/// own Datalog (the block's source loaded into an authorizer and queried).
/// `None` when the token does not parse as a Biscuit: such a token is sent
/// as-is and Harbor decides.
pub fn read_token_binding(token: &str) -> Option<TokenBinding> {
    let mut facts =
        crate::attenuate::block_string_facts(token, 0, &[FACT_TENANT, FACT_INTENT])?.into_iter();
    let mut first = || facts.next().and_then(|v| v.into_iter().next());
    let tenant_id = first();
    let intent_id = first().map(|s| s.to_ascii_lowercase());
    Some(TokenBinding {
        tenant_id,
        intent_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_without_binding_facts_reads_as_unbound() {
        let root = biscuit_auth::KeyPair::new();
        let b = biscuit_auth::Biscuit::builder()
            .code("check if operation($op), allowed_operation($op);")
            .unwrap()
            .build(&root)
            .unwrap();
        let token = STANDARD.encode(b.to_vec().unwrap());
        assert_eq!(read_token_binding(&token), Some(TokenBinding::default()));
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(read_token_binding("not-a-token"), None);
    }

    #[test]
    fn real_token_roundtrip() {
        let root = biscuit_auth::KeyPair::new();
        let b = biscuit_auth::Biscuit::builder()
            .fact("tenant(\"tenant-a\")")
            .unwrap()
            .fact("intent(\"7F2A9B1E-2F66-4F4F-9C6E-8F4B8E85C401\")")
            .unwrap()
            .build(&root)
            .unwrap();
        let token = STANDARD.encode(b.to_vec().unwrap());
        let got = read_token_binding(&token).unwrap();
        assert_eq!(got.tenant_id.as_deref(), Some("tenant-a"));
        assert_eq!(
            got.intent_id.as_deref(),
            Some("7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401")
        );
    }
}
