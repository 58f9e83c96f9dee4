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
//! [`WebConfigSource`] holds the configuration in force. A task started with
//! [`WebConfigSource::spawn_reloader`] looks at the file and the certificate files it names
//! every [`RELOAD_CHECK_INTERVAL`], off the async threads, and applies a change (a renewed
//! certificate, a changed password) without a restart. It fails closed: a change that does
//! not load, or that would turn TLS or authentication off or weaken the client certificate
//! requirement (an empty or half-written file included), is refused with an error in the
//! log and the previous configuration stays in force; turning protection off takes a
//! restart. Readers get the configuration without a lock ([`WebConfigSource::current`]).
//!
//! Owns the configuration in force, the decision to apply or refuse a change, and what
//! survives a reload (the rate-limit bucket while the limit is unchanged, the credential
//! cache). Reading the file is [`super::format`]'s, building TLS [`super::tls`]'s, checking
//! credentials [`super::auth`]'s, the token bucket [`crate::rate`]'s. The HTTP side
//! ([`super`]) uses the result per connection (TLS) and per request (rate limit,
//! credentials, headers).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use super::auth::Auth;
use super::auth::Authenticator;
use super::format::{self, Stamp, WebConfig};
use arc_swap::ArcSwap;

use crate::rate::TokenBucket;

/// How often the reloader looks at the files.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What a look at the files did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reload {
    /// Nothing changed (or there is no file).
    Unchanged,
    /// The new configuration is in force.
    Applied,
    /// The change was refused; the previous configuration stays in force.
    Refused,
}

/// The web configuration in force, re-read when its files change. See the module
/// documentation.
pub struct WebConfigSource {
    path: Option<PathBuf>,
    current: ArcSwap<WebConfig>,
    /// The files the configuration depends on, with their stamps at the last look. Only
    /// the reloader takes this lock.
    watched: Mutex<Vec<(PathBuf, Stamp)>>,
    /// Kept across reloads that leave the limit as it was.
    bucket: Mutex<Option<TokenBucket>>,
    /// Kept across reloads: its cache keys hold the hashes.
    auth: Authenticator,
}

impl WebConfigSource {
    /// Without a file: plain HTTP, nothing to re-read.
    pub fn plain() -> WebConfigSource {
        WebConfigSource::new(None, WebConfig::plain(), Vec::new())
    }

    /// Loads `path` (an error here stops the exporter: it must not start unprotected).
    pub fn load(path: &Path) -> anyhow::Result<WebConfigSource> {
        let (config, watched) = format::load(path)?;
        Ok(WebConfigSource::new(
            Some(path.to_path_buf()),
            config,
            watched,
        ))
    }

    fn new(
        path: Option<PathBuf>,
        config: WebConfig,
        watched: Vec<(PathBuf, Stamp)>,
    ) -> WebConfigSource {
        let bucket = config
            .rate_limit
            .map(|l| TokenBucket::new(l, Instant::now()));
        WebConfigSource {
            path,
            current: ArcSwap::from_pointee(config),
            watched: Mutex::new(watched),
            bucket: Mutex::new(bucket),
            auth: Authenticator::default(),
        }
    }

    /// The configuration in force. No lock, no I/O.
    pub fn current(&self) -> Arc<WebConfig> {
        self.current.load_full()
    }

    /// Looks at the files and applies a change, or refuses it (logged). Blocks on file
    /// I/O: call it off the async threads.
    pub fn reload_if_changed(&self) -> Reload {
        let Some(path) = &self.path else {
            return Reload::Unchanged;
        };
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        if watched.iter().all(|(p, s)| Stamp::of(p) == *s) {
            return Reload::Unchanged;
        }
        let previous = self.current();
        let refused = |watched: &mut Vec<(PathBuf, Stamp)>, why: String| {
            tracing::error!(
                path = %path.display(),
                error = %why,
                "cannot reload the web config file: keeping the previous settings (TLS, authentication and headers stay as they were); fix the file, or restart the exporter to turn protection off"
            );
            // Not tried again until a file changes once more.
            for (p, s) in watched.iter_mut() {
                *s = Stamp::of(p);
            }
            Reload::Refused
        };
        match format::load(path) {
            Err(e) => refused(&mut watched, format!("{e:#}")),
            Ok((config, _)) if config.weakens(&previous).is_some() => {
                let why = config.weakens(&previous).unwrap_or_default();
                refused(
                    &mut watched,
                    format!("the new file is refused because {why}"),
                )
            }
            Ok((config, files)) => {
                let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
                if bucket.as_ref().map(TokenBucket::limit) != config.rate_limit {
                    *bucket = config
                        .rate_limit
                        .map(|l| TokenBucket::new(l, Instant::now()));
                }
                drop(bucket);
                self.current.store(Arc::new(config));
                *watched = files;
                tracing::info!(path = %path.display(), "web config file reloaded");
                Reload::Applied
            }
        }
    }

    /// Starts the task that calls [`WebConfigSource::reload_if_changed`] every
    /// [`RELOAD_CHECK_INTERVAL`] on the blocking pool (nothing without a file). Call it from
    /// within the tokio runtime; the task ends with the runtime.
    pub fn spawn_reloader(self: &Arc<Self>) {
        if self.path.is_none() {
            return;
        }
        let source = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let s = source.clone();
                if tokio::task::spawn_blocking(move || s.reload_if_changed())
                    .await
                    .is_err()
                {
                    tracing::error!("the web config reloader failed: restart the exporter");
                    return;
                }
            }
        });
    }

    /// Takes a request from the rate limit; `false` when over it.
    pub fn take_request(&self) -> bool {
        match self
            .bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            None => true,
            Some(b) => b.take(Instant::now()),
        }
    }

    /// Checks a request's `Authorization` header against `config` (the configuration in
    /// force when the request arrived): from the cache when these credentials were checked
    /// against these hashes before, else with bcrypt, one check at a time.
    pub async fn authorize(&self, config: &WebConfig, authorization: Option<&[u8]>) -> Auth {
        self.auth.check(&config.users, authorization).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::tls::ClientCerts;
    use std::time::SystemTime;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn err(dir: &Path, text: &str) -> String {
        format!(
            "{:#}",
            WebConfig::load(&write(dir, "w.yml", text)).err().unwrap()
        )
    }

    #[test]
    fn errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        assert!(err(dir, "basic_auth_users:\n  a: plain\n").contains("not a bcrypt hash"));
        assert!(
            err(
                dir,
                "tls_server_config:\n  cert_file: missing.crt\n  key_file: k\n"
            )
            .contains("missing.crt")
        );
        assert!(err(dir, "unknown_key: 1\n").contains("unknown_key"));
        assert!(err(dir, "rate_limit:\n  interval: soon\n  burst: 1\n").contains("interval"));
        let e = err(
            dir,
            "http_server_config:\n  headers:\n    Content-Length: \"5\"\n",
        );
        assert!(
            e.contains("Content-Length") && e.contains("cannot be configured"),
            "{e}"
        );
    }

    fn pki(dir: &Path) {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        write(dir, "s.crt", &ck.cert.pem());
        write(dir, "s.key", &ck.signing_key.serialize_pem());
        write(dir, "ca.crt", &ck.cert.pem());
    }

    /// exporter-toolkit refuses a client CA that no client_auth_type uses; so does this.
    #[test]
    fn a_client_ca_without_client_auth_type_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        pki(dir);
        let tls = "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n";
        for extra in [
            "  client_ca_file: ca.crt\n",
            "  client_ca_file: ca.crt\n  client_auth_type: NoClientCert\n",
        ] {
            let e = err(dir, &format!("{tls}{extra}"));
            assert!(e.contains("client_auth_type"), "{e}");
        }
        let ok = WebConfig::load(&write(
            dir,
            "w.yml",
            &format!(
                "{tls}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
            ),
        ))
        .unwrap();
        assert_eq!(ok.tls.unwrap().client_certs, ClientCerts::Required);
    }

    /// Writes `text` to the config file so that its stamp surely changes.
    fn rewrite(p: &Path, text: &str) {
        let before = Stamp::of(p);
        std::fs::write(p, text).unwrap();
        if Stamp::of(p) == before {
            // Same size within the clock's resolution: move the time on.
            let f = std::fs::File::options().write(true).open(p).unwrap();
            f.set_modified(SystemTime::now() + Duration::from_secs(1))
                .unwrap();
        }
    }

    #[test]
    fn reload_applies_good_changes_and_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        pki(dir);
        let hash = bcrypt::hash("pw", 4).unwrap();
        let tls = "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n";
        let auth = format!("basic_auth_users:\n  prometheus: '{hash}'\n");
        let p = write(dir, "web.yml", &format!("{tls}{auth}"));
        let src = WebConfigSource::load(&p).unwrap();
        assert_eq!(src.reload_if_changed(), Reload::Unchanged);
        assert!(src.current().tls.is_some() && src.current().needs_auth());

        // A truncated file (the first step of a non-atomic rewrite), a file that does not
        // parse, one that drops TLS, one that drops authentication: all refused, once each.
        for text in [
            String::new(),
            "tls_server_config:\n  cert_fi".to_string(),
            auth.clone(),
            tls.to_string(),
            format!("{tls}  cert_file: gone.crt\n{auth}"),
        ] {
            rewrite(&p, &text);
            assert_eq!(src.reload_if_changed(), Reload::Refused, "{text:?}");
            assert_eq!(src.reload_if_changed(), Reload::Unchanged, "{text:?}");
            let c = src.current();
            assert!(c.tls.is_some() && c.needs_auth(), "{text:?}");
        }
        // A good change applies: a header added, another password.
        let hash2 = bcrypt::hash("pw2", 4).unwrap();
        rewrite(
            &p,
            &format!(
                "{tls}http_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  prometheus: '{hash2}'\n"
            ),
        );
        assert_eq!(src.reload_if_changed(), Reload::Applied);
        assert_eq!(src.current().headers.len(), 1);
        // A renewed certificate applies (the certificate file is watched too).
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let key = dir.join("s.key");
        rewrite(&dir.join("s.crt"), &ck.cert.pem());
        rewrite(&key, &ck.signing_key.serialize_pem());
        assert_eq!(src.reload_if_changed(), Reload::Applied);
    }

    #[test]
    fn client_certificates_cannot_be_dropped_by_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        pki(dir);
        let tls = "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n";
        let p = write(
            dir,
            "web.yml",
            &format!(
                "{tls}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
            ),
        );
        let src = WebConfigSource::load(&p).unwrap();
        rewrite(
            &p,
            &format!(
                "{tls}  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n"
            ),
        );
        assert_eq!(src.reload_if_changed(), Reload::Refused);
        rewrite(&p, tls);
        assert_eq!(src.reload_if_changed(), Reload::Refused);
        assert_eq!(
            src.current().tls.as_ref().unwrap().client_certs,
            ClientCerts::Required
        );
    }

    /// Without protection before, a reload may add it (and a plain config may change).
    #[test]
    fn protection_can_be_added_by_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "web.yml", "{}\n");
        let src = WebConfigSource::load(&p).unwrap();
        assert!(!src.current().needs_auth());
        let hash = bcrypt::hash("pw", 4).unwrap();
        rewrite(&p, &format!("basic_auth_users:\n  prometheus: '{hash}'\n"));
        assert_eq!(src.reload_if_changed(), Reload::Applied);
        assert!(src.current().needs_auth());
    }

    /// The rate limit's bucket survives a reload that keeps the limit, and a refused one.
    #[test]
    fn the_rate_limit_survives_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let limit = "rate_limit:\n  interval: 1h\n  burst: 1\n";
        let p = write(dir.path(), "web.yml", limit);
        let src = WebConfigSource::load(&p).unwrap();
        assert!(src.take_request());
        assert!(!src.take_request());
        rewrite(
            &p,
            &format!("{limit}http_server_config:\n  headers:\n    X-Frame-Options: deny\n"),
        );
        assert_eq!(src.reload_if_changed(), Reload::Applied);
        assert!(!src.take_request());
        rewrite(&p, "rate_limit:\n  interval: 1h\n  burst: 0\n");
        assert_eq!(src.reload_if_changed(), Reload::Refused);
        assert!(!src.take_request());
        rewrite(&p, "{}\n");
        assert_eq!(src.reload_if_changed(), Reload::Applied);
        assert!(src.take_request());
    }
}
