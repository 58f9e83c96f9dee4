//! `--web.config.file`: TLS, basic authentication, response headers and a request rate
//! limit, in the YAML format of the Prometheus exporter-toolkit, so the exporter can sit on
//! a public interface like other exporters.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt            # paths are relative to this file
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # or NoClientCert, VerifyClientCertIfGiven
//!   client_ca_file: ca.crt
//!   min_version: TLS12               # TLS12 or TLS13
//! http_server_config:
//!   headers:
//!     Strict-Transport-Security: max-age=31536000
//! basic_auth_users:
//!   prometheus: $2y$10$...           # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
//! rate_limit:
//!   interval: 100ms                  # one request per interval on average
//!   burst: 10
//! ```
//!
//! The file, and the certificate files it names, are looked at again for every new
//! connection: a change (e.g. a renewed certificate) applies without a restart. A change
//! that does not load is logged and the previous configuration stays in force.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use base64::Engine;
use hyper::header::{HeaderName, HeaderValue};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

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
struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_ca: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    prefer_server_cipher_suites: Option<bool>,
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

/// A validated web configuration.
pub struct WebConfig {
    /// TLS, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// User name -> bcrypt hash; empty means no authentication.
    users: HashMap<String, String>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    rate_limit: Option<Mutex<TokenBucket>>,
    /// SHA-256 of credentials that verified, so bcrypt (slow on purpose) runs once per
    /// client rather than once per scrape. Cleared with the configuration.
    verified: Mutex<Vec<[u8; 32]>>,
    /// Files whose change means a reload, with their (mtime, size) when loaded.
    watched: Vec<(PathBuf, Option<(SystemTime, u64)>)>,
}

/// How many verified credentials are remembered.
const VERIFIED_CACHE: usize = 64;

/// A bcrypt hash of a random password, checked for unknown users so that a wrong user name
/// takes as long as a wrong password.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// The outcome of checking a request's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No users are configured, or the credentials are right.
    Allowed,
    /// Missing or wrong credentials.
    Denied,
}

impl WebConfig {
    /// No TLS, no users, no headers: plain HTTP as without a config file.
    pub fn plain() -> WebConfig {
        WebConfig {
            tls: None,
            users: HashMap::new(),
            headers: Vec::new(),
            rate_limit: None,
            verified: Mutex::new(Vec::new()),
            watched: Vec::new(),
        }
    }

    /// Loads and validates the file. Errors name the file and the setting.
    pub fn load(path: &Path) -> anyhow::Result<WebConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read web config file {}", path.display()))?;
        let file: FileFormat = if text.trim().is_empty() {
            FileFormat::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| {
                anyhow::anyhow!("web config file {} is not valid: {e}", path.display())
            })?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let mut watched = vec![path.to_path_buf()];
        let tls = match file.tls_server_config {
            Some(t) => Some(Arc::new(build_tls(t, base, &mut watched).with_context(
                || format!("in {} (tls_server_config)", path.display()),
            )?)),
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
                tracing::info!("http_server_config.http2 is ignored: the exporter serves HTTP/1.1");
            }
            for (k, v) in &http.headers {
                let name = HeaderName::from_bytes(k.as_bytes())
                    .with_context(|| format!("in {}: bad header name {k:?}", path.display()))?;
                let value = HeaderValue::from_str(v)
                    .with_context(|| format!("in {}: bad value for header {k}", path.display()))?;
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
                Some(Mutex::new(TokenBucket::new(interval, r.burst)))
            }
            None => None,
        };
        let watched = watched.into_iter().map(|p| {
            let stamp = stamp(&p);
            (p, stamp)
        });
        Ok(WebConfig {
            tls,
            users: file.basic_auth_users,
            headers,
            rate_limit,
            verified: Mutex::new(Vec::new()),
            watched: watched.collect(),
        })
    }

    /// Does the configuration ask for credentials?
    pub fn needs_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header. Blocks for a bcrypt verification the first time a
    /// set of credentials is seen: call it off the async threads.
    pub fn check_auth(&self, authorization: Option<&[u8]>) -> Auth {
        if self.users.is_empty() {
            return Auth::Allowed;
        }
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return Auth::Denied;
        };
        let hash = self.users.get(&user);
        let digest = credentials_digest(&user, &password, hash.map(String::as_str).unwrap_or(""));
        if hash.is_some()
            && self
                .verified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&digest)
        {
            return Auth::Allowed;
        }
        let ok = bcrypt::verify(&password, hash.map(String::as_str).unwrap_or(DUMMY_HASH))
            .unwrap_or(false);
        if ok && hash.is_some() {
            let mut v = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if v.len() >= VERIFIED_CACHE {
                v.remove(0);
            }
            v.push(digest);
            Auth::Allowed
        } else {
            Auth::Denied
        }
    }

    /// Takes a request from the rate limit; `false` when over it.
    pub fn take_request(&self) -> bool {
        match &self.rate_limit {
            None => true,
            Some(bucket) => bucket
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(Instant::now()),
        }
    }

    fn changed(&self) -> bool {
        self.watched.iter().any(|(p, s)| stamp(p) != *s)
    }
}

fn stamp(p: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(p)
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())))
}

fn credentials_digest(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, password, hash] {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `Basic base64(user:password)` -> (user, password).
fn parse_basic(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// A token bucket: `burst` requests at once, refilled by one every `interval`.
#[derive(Debug)]
struct TokenBucket {
    interval: Duration,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(interval: Duration, burst: u32) -> TokenBucket {
        TokenBucket {
            interval,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        if self.interval.is_zero() {
            return true;
        }
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() / self.interval.as_secs_f64()).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn read_certs(
    file: Option<&PathBuf>,
    inline: Option<&String>,
    base: &Path,
    what: &str,
    watched: &mut Vec<PathBuf>,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = match (file, inline) {
        (Some(f), _) => {
            let p = base.join(f);
            watched.push(p.clone());
            CertificateDer::pem_file_iter(&p)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| anyhow::anyhow!("cannot read {what} {}: {e}", p.display()))?
        }
        (None, Some(text)) => CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("bad inline {what}: {e}"))?,
        (None, None) => Vec::new(),
    };
    Ok(certs)
}

fn build_tls(
    t: TlsFile,
    base: &Path,
    watched: &mut Vec<PathBuf>,
) -> anyhow::Result<rustls::ServerConfig> {
    let certs = read_certs(
        t.cert_file.as_ref(),
        t.cert.as_ref(),
        base,
        "certificate",
        watched,
    )?;
    if certs.is_empty() {
        bail!("cert_file (or cert) is required and must hold a PEM certificate");
    }
    let key: PrivateKeyDer<'static> = match (&t.key_file, &t.key) {
        (Some(f), _) => {
            let p = base.join(f);
            watched.push(p.clone());
            PrivateKeyDer::from_pem_file(&p)
                .map_err(|e| anyhow::anyhow!("cannot read key_file {}: {e}", p.display()))?
        }
        (None, Some(text)) => PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|e| anyhow::anyhow!("bad inline key: {e}"))?,
        (None, None) => bail!("key_file (or key) is required"),
    };
    if t.client_allowed_sans.is_some() {
        bail!(
            "client_allowed_sans is not supported by xmail_exporter: use a client CA that only signs allowed clients"
        );
    }

    let mut provider: CryptoProvider = rustls::crypto::ring::default_provider();
    if let Some(names) = &t.cipher_suites {
        let mut chosen = Vec::new();
        for name in names {
            let wanted = name.trim_end_matches("_SHA256");
            let found = provider.cipher_suites.iter().find(|s| {
                let have = format!("{:?}", s.suite());
                have == *name || have.trim_end_matches("_SHA256") == wanted
            });
            match found {
                Some(s) => chosen.push(*s),
                None => bail!(
                    "cipher_suites: {name:?} is not supported (supported: the TLS 1.2 ECDHE suites with AES-GCM or ChaCha20-Poly1305)"
                ),
            }
        }
        // As in Go, the list applies to TLS 1.2; TLS 1.3 suites are always enabled.
        let tls13: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        chosen.extend(tls13);
        provider.cipher_suites = chosen;
    }
    if let Some(curves) = &t.curve_preferences {
        use rustls::crypto::ring::kx_group;
        let mut groups = Vec::new();
        for c in curves {
            groups.push(match c.as_str() {
                "X25519" => kx_group::X25519,
                "CurveP256" => kx_group::SECP256R1,
                "CurveP384" => kx_group::SECP384R1,
                other => bail!("curve_preferences: {other:?} is not supported (use X25519, CurveP256 or CurveP384)"),
            });
        }
        provider.kx_groups = groups;
    }
    let version = |v: &Option<String>, default: u8| -> anyhow::Result<u8> {
        match v.as_deref() {
            None => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(other @ ("TLS10" | "TLS11")) => {
                bail!("{other} is not supported: TLS 1.2 is the oldest version offered")
            }
            Some(other) => bail!("unknown TLS version {other:?}: use TLS12 or TLS13"),
        }
    };
    let (min, max) = (version(&t.min_version, 12)?, version(&t.max_version, 13)?);
    if min > max {
        bail!("min_version is above max_version");
    }
    let mut versions = Vec::new();
    if min <= 12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        versions.push(&rustls::version::TLS13);
    }
    let provider = Arc::new(provider);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .context("no TLS version left")?;

    let client_auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let ca = read_certs(
        t.client_ca_file.as_ref(),
        t.client_ca.as_ref(),
        base,
        "client_ca_file",
        watched,
    )?;
    let builder = match client_auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            if ca.is_empty() {
                bail!("client_auth_type {client_auth} needs client_ca_file");
            }
            let mut roots = RootCertStore::empty();
            for c in ca {
                roots
                    .add(c)
                    .context("client_ca_file holds a certificate that cannot be used as a CA")?;
            }
            let mut v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if client_auth == "VerifyClientCertIfGiven" {
                v = v.allow_unauthenticated();
            }
            builder.with_client_cert_verifier(
                v.build()
                    .context("cannot build the client certificate verifier")?,
            )
        }
        "RequestClientCert" | "RequireAnyClientCert" => bail!(
            "client_auth_type {client_auth} (accepting unverified client certificates) is not supported: use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
        ),
        other => bail!("unknown client_auth_type {other:?}"),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("the certificate and the key do not go together")?;
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(false);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The web configuration in force, re-read when its files change.
pub struct WebConfigSource {
    path: Option<PathBuf>,
    current: Mutex<Arc<WebConfig>>,
}

impl WebConfigSource {
    /// Without a file: plain HTTP, nothing to re-read.
    pub fn plain() -> WebConfigSource {
        WebConfigSource {
            path: None,
            current: Mutex::new(Arc::new(WebConfig::plain())),
        }
    }

    /// Loads `path` (an error here stops the exporter: it must not start unprotected).
    pub fn load(path: &Path) -> anyhow::Result<WebConfigSource> {
        let config = WebConfig::load(path)?;
        Ok(WebConfigSource {
            path: Some(path.to_path_buf()),
            current: Mutex::new(Arc::new(config)),
        })
    }

    /// The configuration to use for a new connection: reloaded first if a file changed; if
    /// the new one does not load, the previous one stays and the error is logged.
    pub fn current(&self) -> Arc<WebConfig> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(path) = &self.path
            && current.changed()
        {
            match WebConfig::load(path) {
                Ok(c) => {
                    tracing::info!(path = %path.display(), "web config file reloaded");
                    *current = Arc::new(c);
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "cannot reload the web config file: keeping the previous one");
                    // Do not try again until the files change once more.
                    let mut kept = WebConfig::clone_settings(&current);
                    kept.watched = current
                        .watched
                        .iter()
                        .map(|(p, _)| (p.clone(), stamp(p)))
                        .collect();
                    *current = Arc::new(kept);
                }
            }
        }
        current.clone()
    }
}

impl WebConfig {
    fn clone_settings(c: &WebConfig) -> WebConfig {
        WebConfig {
            tls: c.tls.clone(),
            users: c.users.clone(),
            headers: c.headers.clone(),
            rate_limit: c.rate_limit.as_ref().map(|b| {
                let b = b.lock().unwrap_or_else(|e| e.into_inner());
                Mutex::new(TokenBucket::new(b.interval, b.burst as u32))
            }),
            verified: Mutex::new(Vec::new()),
            watched: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn basic_auth() {
        let dir = tempfile::tempdir().unwrap();
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let p = write(
            dir.path(),
            "web.yml",
            &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
        );
        let c = WebConfig::load(&p).unwrap();
        let header = |u: &str, pw: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{pw}"))
            )
        };
        assert_eq!(
            c.check_auth(Some(header("prometheus", "s3cret").as_bytes())),
            Auth::Allowed
        );
        assert_eq!(
            c.check_auth(Some(header("prometheus", "s3cret").as_bytes())),
            Auth::Allowed
        );
        assert_eq!(
            c.check_auth(Some(header("prometheus", "wrong").as_bytes())),
            Auth::Denied
        );
        assert_eq!(
            c.check_auth(Some(header("nobody", "s3cret").as_bytes())),
            Auth::Denied
        );
        assert_eq!(c.check_auth(Some(b"Bearer x")), Auth::Denied);
        assert_eq!(c.check_auth(None), Auth::Denied);
        assert_eq!(WebConfig::plain().check_auth(None), Auth::Allowed);
    }

    #[test]
    fn the_dummy_hash_is_a_valid_bcrypt_hash() {
        assert!(DUMMY_HASH.parse::<bcrypt::HashParts>().is_ok());
        assert!(!bcrypt::verify("", DUMMY_HASH).unwrap());
    }

    #[test]
    fn errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let err = |text: &str| {
            format!(
                "{:#}",
                WebConfig::load(&write(dir.path(), "w.yml", text))
                    .err()
                    .unwrap()
            )
        };
        assert!(err("basic_auth_users:\n  a: plain\n").contains("not a bcrypt hash"));
        assert!(
            err("tls_server_config:\n  cert_file: missing.crt\n  key_file: k\n")
                .contains("missing.crt")
        );
        assert!(err("unknown_key: 1\n").contains("unknown_key"));
        assert!(err("rate_limit:\n  interval: soon\n  burst: 1\n").contains("interval"));
    }

    #[test]
    fn token_bucket() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(Duration::from_secs(1), 2);
        b.last = t0;
        assert!(b.take(t0));
        assert!(b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(1100)));
        assert!(!b.take(t0 + Duration::from_millis(1200)));
    }

    #[test]
    fn tls_config_from_files_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        write(dir.path(), "s.crt", &ck.cert.pem());
        write(dir.path(), "s.key", &ck.signing_key.serialize_pem());
        let p = write(
            dir.path(),
            "web.yml",
            "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  min_version: TLS13\n",
        );
        let src = WebConfigSource::load(&p).unwrap();
        assert!(src.current().tls.is_some());
        // A broken change keeps the previous configuration.
        std::fs::write(
            &p,
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: s.key\n",
        )
        .unwrap();
        assert!(src.current().tls.is_some());
        // A good change applies.
        std::fs::write(&p, "{}\n").unwrap();
        assert!(src.current().tls.is_none());
    }
}
