//! The file: its YAML format (the Prometheus exporter-toolkit's), read and validated into a
//! [`WebConfig`]. Errors name the file and the setting and say what to write instead.
//! Building TLS is [`super::tls`]'s; deciding whether a reload may apply is
//! [`super::reload::WebConfigSource`]'s.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, bail};
use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::auth::Users;
use super::tls::{ClientCerts, Tls, TlsFile, build_tls};
use crate::rate::RateLimit;

/// A validated web configuration.
pub struct WebConfig {
    /// TLS, when configured.
    pub tls: Option<Tls>,
    /// The users; empty means no authentication.
    pub(super) users: Users,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The request rate limit, when configured.
    pub(super) rate_limit: Option<RateLimit>,
}

impl WebConfig {
    /// No TLS, no users, no headers: plain HTTP as without a config file.
    pub fn plain() -> WebConfig {
        WebConfig {
            tls: None,
            users: Users::default(),
            headers: Vec::new(),
            rate_limit: None,
        }
    }

    /// Loads and validates a file. Errors name the file and the setting.
    pub fn load(path: &Path) -> anyhow::Result<WebConfig> {
        Ok(load(path)?.0)
    }

    /// Is `name` one of the users?
    pub fn has_user(&self, name: &str) -> bool {
        self.users.contains(name)
    }

    /// Does the configuration ask for credentials?
    pub fn needs_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// What `self` would give up against `previous`, if anything: a reason to refuse it.
    pub(super) fn weakens(&self, previous: &WebConfig) -> Option<&'static str> {
        let certs = |c: &WebConfig| c.tls.as_ref().map(|t| t.client_certs);
        if previous.tls.is_some() && self.tls.is_none() {
            Some("it turns TLS off")
        } else if previous.needs_auth() && !self.needs_auth() {
            Some("it turns basic authentication off")
        } else if certs(self).unwrap_or(ClientCerts::None)
            < certs(previous).unwrap_or(ClientCerts::None)
        {
            Some("it weakens the client certificate requirement")
        } else {
            None
        }
    }
}

/// A file's modification time and size, to notice a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp(Option<(SystemTime, u64)>);

impl Stamp {
    /// The stamp of `p` now (none when it cannot be looked at).
    pub fn of(p: &Path) -> Stamp {
        Stamp(
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len()))),
        )
    }
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    #[serde(default)]
    basic_auth_users: HashMap<String, String>,
    rate_limit: Option<RateLimitFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    http2: Option<bool>,
    #[serde(default)]
    headers: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    interval: String,
    burst: u32,
}

/// The response headers `http_server_config.headers` may set, as in the exporter-toolkit,
/// and the values allowed where the header is an enumeration. Any other header (one that
/// could change how a response is framed or cached, such as `Content-Length`) is refused.
const ALLOWED_HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// Reads and validates `path`, and notes the files it depends on with their stamps.
pub fn load(path: &Path) -> anyhow::Result<(WebConfig, Vec<(std::path::PathBuf, Stamp)>)> {
    // The stamp is taken before the read: a change during the read is seen at the next look.
    let own_stamp = Stamp::of(path);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read web config file {}", path.display()))?;
    let file: FileFormat = if text.trim().is_empty() {
        FileFormat::default()
    } else {
        serde_yaml_ng::from_str(&text)
            .map_err(|e| anyhow::anyhow!("web config file {} is not valid: {e}", path.display()))?
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut files = Vec::new();
    let tls = match file.tls_server_config {
        Some(t) => Some(
            build_tls(t, base, &mut files)
                .with_context(|| format!("in {} (tls_server_config)", path.display()))?,
        ),
        None => None,
    };
    for (user, hash) in &file.basic_auth_users {
        if hash.parse::<bcrypt::HashParts>().is_err() {
            bail!(
                "in {}: basic_auth_users.{user} is not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)",
                path.display()
            );
        }
    }
    let mut headers = Vec::new();
    if let Some(http) = &file.http_server_config {
        if http.http2 == Some(true) {
            tracing::debug!("http_server_config.http2 is ignored: the exporter serves HTTP/1.1");
        }
        let mut names: Vec<&String> = http.headers.keys().collect();
        names.sort();
        for k in names {
            let v = &http.headers[k];
            let (name, value) = check_header(k, v)
                .with_context(|| format!("in {} (http_server_config.headers)", path.display()))?;
            headers.push((name, value));
        }
    }
    let rate_limit = match file.rate_limit {
        Some(r) => {
            let interval = humantime::parse_duration(&r.interval).with_context(|| {
                format!(
                    "in {}: rate_limit.interval {:?} is not a duration",
                    path.display(),
                    r.interval
                )
            })?;
            if r.burst == 0 {
                bail!("in {}: rate_limit.burst must be at least 1", path.display());
            }
            Some(RateLimit {
                interval,
                burst: r.burst,
            })
        }
        None => None,
    };
    let mut watched = vec![(path.to_path_buf(), own_stamp)];
    watched.extend(files.into_iter().map(|p| {
        let s = Stamp::of(&p);
        (p, s)
    }));
    Ok((
        WebConfig {
            tls,
            users: Users::new(file.basic_auth_users),
            headers,
            rate_limit,
        },
        watched,
    ))
}

/// One configured response header, checked against [`ALLOWED_HEADERS`].
fn check_header(name: &str, value: &str) -> anyhow::Result<(HeaderName, HeaderValue)> {
    let Some((canonical, values)) = ALLOWED_HEADERS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    else {
        let allowed: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
        bail!(
            "header {name:?} cannot be configured (allowed: {})",
            allowed.join(", ")
        );
    };
    if !values.is_empty() && !values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
        bail!("header {canonical}: {value:?} is not allowed (use one of {values:?})");
    }
    let value = HeaderValue::from_str(value)
        .with_context(|| format!("header {canonical}: the value is not a valid header value"))?;
    let name = HeaderName::from_bytes(canonical.as_bytes()).expect("the allowed names are valid");
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_security_headers_can_be_set() {
        assert!(check_header("Strict-Transport-Security", "max-age=31536000").is_ok());
        assert!(check_header("x-frame-options", "SAMEORIGIN").is_ok());
        assert!(check_header("Content-Security-Policy", "default-src 'none'").is_ok());
        let e = format!("{:#}", check_header("Content-Length", "5").unwrap_err());
        assert!(e.contains("Content-Length") && e.contains("allowed"), "{e}");
        let e = format!(
            "{:#}",
            check_header("X-Frame-Options", "allow").unwrap_err()
        );
        assert!(e.contains("deny"), "{e}");
        assert!(check_header("X-Content-Type-Options", "sniff").is_err());
        assert!(check_header("Set-Cookie", "a=b").is_err());
        assert!(check_header("Strict-Transport-Security", "a\nb").is_err());
    }
}
