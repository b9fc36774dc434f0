//! EdDSA (Ed25519) JWTs for Harbor access, minted by the Gateway side.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Audience of Harbor access tokens.
pub const AUDIENCE: &str = "paybond-harbor";

/// Claims carried by a Harbor access token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// Tenant id.
    pub tid: String,
    /// Service-account subject.
    pub sub: String,
    /// Audience (`paybond-harbor`).
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: u64,
    /// Expiry (unix seconds).
    pub exp: u64,
    /// Unique token id.
    pub jti: String,
}

/// Signs `claims` as a compact JWS with `alg: EdDSA`.
pub fn mint(key: &SigningKey, claims: &Claims) -> String {
    let header = B64URL.encode(br#"{"alg":"EdDSA","typ":"JWT","kid":"devserver-1"}"#);
    let payload = B64URL.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let signing_input = format!("{header}.{payload}");
    let sig = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64URL.encode(sig.to_bytes()))
}

/// Why a bearer was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Not three segments, bad base64 or bad JSON.
    Malformed,
    /// Not `alg: EdDSA`.
    Algorithm,
    /// Signature does not verify.
    Signature,
    /// Past `exp`.
    Expired,
    /// Wrong audience.
    Audience,
}

/// Verifies signature, algorithm, audience and expiry; returns the claims.
pub fn verify(key: &VerifyingKey, token: &str, now_unix: u64) -> Result<Claims, JwtError> {
    unexpired(verify_signed(key, token)?, now_unix)
}

/// `claims` unless they are past `exp` at `now_unix`.
fn unexpired(claims: Claims, now_unix: u64) -> Result<Claims, JwtError> {
    if now_unix >= claims.exp {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// Verifies signature, algorithm and audience (not expiry); returns the claims.
fn verify_signed(key: &VerifyingKey, token: &str) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(h).map_err(|_| JwtError::Malformed)?)
            .map_err(|_| JwtError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("EdDSA") {
        return Err(JwtError::Algorithm);
    }
    let sig_bytes: [u8; 64] = B64URL
        .decode(s)
        .map_err(|_| JwtError::Malformed)?
        .try_into()
        .map_err(|_| JwtError::Malformed)?;
    key.verify(
        format!("{h}.{p}").as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&sig_bytes),
    )
    .map_err(|_| JwtError::Signature)?;
    let claims: Claims =
        serde_json::from_slice(&B64URL.decode(p).map_err(|_| JwtError::Malformed)?)
            .map_err(|_| JwtError::Malformed)?;
    if claims.aud != AUDIENCE {
        return Err(JwtError::Audience);
    }
    Ok(claims)
}

/// Claims of the tokens whose signature, algorithm and audience this server already checked,
/// by their text: the same bytes verify the same way under the server's one key, so a token
/// sent again skips the signature check. Expiry is checked on every use, on the dev clock.
/// Bounded: emptied when full.
#[derive(Default)]
pub struct VerifiedJwts(parking_lot::Mutex<std::collections::HashMap<String, Claims>>);

/// Most tokens [`VerifiedJwts`] keeps.
const VERIFIED_JWTS_MAX: usize = 4096;

impl VerifiedJwts {
    /// [`verify`], with the signature of a token seen before not checked again.
    pub fn verify(
        &self,
        key: &VerifyingKey,
        token: &str,
        now_unix: u64,
    ) -> Result<Claims, JwtError> {
        let known = self.0.lock().get(token).cloned();
        let claims = match known {
            Some(c) => c,
            None => {
                let c = verify_signed(key, token)?;
                let mut m = self.0.lock();
                if m.len() >= VERIFIED_JWTS_MAX {
                    m.clear();
                }
                m.insert(token.to_owned(), c.clone());
                c
            }
        };
        unexpired(claims, now_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roundtrip_and_rejections() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let c = Claims {
            tid: "t".into(),
            sub: "s".into(),
            aud: AUDIENCE.into(),
            iat: 10,
            exp: 20,
            jti: "j".into(),
        };
        let t = mint(&k, &c);
        assert_eq!(verify(&k.verifying_key(), &t, 15).unwrap(), c);
        assert_eq!(verify(&k.verifying_key(), &t, 20), Err(JwtError::Expired));
        let other = SigningKey::from_bytes(&[2; 32]);
        assert_eq!(
            verify(&other.verifying_key(), &t, 15),
            Err(JwtError::Signature)
        );
        assert_eq!(
            verify(&k.verifying_key(), "a.b", 15),
            Err(JwtError::Malformed)
        );
    }
}
