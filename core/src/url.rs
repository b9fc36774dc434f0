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
    /// Validates `raw` against the URL policy. Errors never echo `raw`
    /// (a password or a key pasted into the URL field would leak): they show
    /// only the scheme, host and port.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let parsed = url::Url::parse(raw.trim()).map_err(|e| {
            Error::invalid_argument(
                field,
                format!(
                    "expected an absolute http(s) URL such as https://harbor.example.com ({e})"
                ),
            )
        })?;
        let shown = origin_of(&parsed);
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::invalid_argument(
                field,
                format!("credentials in the URL are not accepted ({shown})"),
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::invalid_argument(
                field,
                format!("a base URL must not carry a query (?...) or fragment (#...) ({shown})"),
            ));
        }
        match parsed.scheme() {
            "https" => {}
            "http" => {
                if !is_loopback(&parsed) && !insecure_opt_in() {
                    return Err(Error::InsecureUrl {
                        url: shown,
                        message: format!(
                            "http:// is only allowed for loopback hosts; use https:// or set {ALLOW_INSECURE_ENV}=1"
                        ),
                    });
                }
            }
            other => {
                return Err(Error::InsecureUrl {
                    url: shown,
                    message: format!(
                        "unsupported scheme {:?}; expected https://",
                        other.chars().take(16).collect::<String>()
                    ),
                })
            }
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid_argument(field, "the URL has no host"));
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

/// `scheme://host[:port]` of a URL: what errors may show of caller input.
fn origin_of(u: &url::Url) -> String {
    let host = u.host_str().unwrap_or("");
    let host: String = host.chars().take(253).collect();
    match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
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
        for bad in [
            "https://h.example/?x=1",
            "https://h.example/#f",
            "https://user:hunter2@h.example",
            "paybond_sk_live_0123456789abcdef",
            "https://h.example/?key=paybond_sk_live_0123456789abcdef",
        ] {
            let e = BaseUrl::parse("u", bad).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(
                !text.contains("hunter2") && !text.contains("paybond_sk"),
                "{text}"
            );
            assert_eq!(e.code(), "invalid_argument", "{bad}");
        }
        assert_eq!(
            BaseUrl::parse("u", "http://localhost:9/")
                .unwrap()
                .join("/verify"),
            "http://localhost:9/verify"
        );
    }
}
