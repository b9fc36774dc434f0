//! Base-URL policy: `https://` always; `http://` only for loopback hosts,
//! unless `PAYBOND_ALLOW_INSECURE_GATEWAY` opts in for a private network.

use crate::error::{Error, Result};
use std::net::IpAddr;

/// Environment variable that allows plain `http://` to non-loopback hosts.
pub const ALLOW_INSECURE_ENV: &str = "PAYBOND_ALLOW_INSECURE_GATEWAY";

/// A validated base URL, kept without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Validates `raw` against the URL policy.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let parsed = url::Url::parse(raw.trim()).map_err(|e| {
            Error::invalid_argument(
                field,
                format!("expected an absolute http(s) URL, got {raw:?} ({e})"),
            )
        })?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::invalid_argument(
                field,
                "credentials in the URL are not accepted",
            ));
        }
        match parsed.scheme() {
            "https" => {}
            "http" => {
                if !is_loopback(&parsed) && !insecure_opt_in() {
                    return Err(Error::InsecureUrl {
                        url: raw.to_owned(),
                        message: format!(
                            "http:// is only allowed for loopback hosts; use https:// or set {ALLOW_INSECURE_ENV}=1"
                        ),
                    });
                }
            }
            other => {
                return Err(Error::InsecureUrl {
                    url: raw.to_owned(),
                    message: format!("unsupported scheme {other:?}; expected https://"),
                })
            }
        }
        if parsed.host_str().is_none() {
            return Err(Error::invalid_argument(
                field,
                format!("URL {raw:?} has no host"),
            ));
        }
        let mut s = parsed.to_string();
        while s.ends_with('/') {
            s.pop();
        }
        Ok(BaseUrl(s))
    }

    /// The URL for `path` (which starts with `/`).
    pub fn join(&self, path: &str) -> String {
        let mut s = String::with_capacity(self.0.len() + path.len());
        s.push_str(&self.0);
        s.push_str(path);
        s
    }

    /// The base URL itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn insecure_opt_in() -> bool {
    std::env::var(ALLOW_INSECURE_ENV)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        for ok in [
            "https://harbor.example.com",
            "http://localhost:8080/",
            "http://127.0.0.1:1",
            "http://127.9.9.9",
            "http://[::1]:80",
        ] {
            assert!(BaseUrl::parse("u", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://x",
            "http://localhost.evil.com",
        ] {
            let e = BaseUrl::parse("u", bad).unwrap_err();
            assert_eq!(e.code(), "insecure_url", "{bad}");
        }
        assert_eq!(
            BaseUrl::parse("u", "not a url").unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(
            BaseUrl::parse("u", "http://localhost:9/")
                .unwrap()
                .join("/verify"),
            "http://localhost:9/verify"
        );
    }
}
