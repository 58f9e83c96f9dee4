//! The YAML config file and the settings derived from it.
//!
//! ```yaml
//! timezone: Asia/Seoul        # IANA name; default: the system's zone
//! domains: [example.co.kr]    # local domains that get per-domain counters (opt-in)
//! delivery_delay:            # joining RECV=OK to SMAIL deliveries by message ID
//!   window: 24h               # how long a received message is remembered (log time)
//!   max_messages: 100000      # at most this many (about 40 bytes each)
//! webmail:
//!   default_rules: true       # keep the built-in rules after yours (default true)
//!   rules:                    # checked in order; the first match names the category
//!     - name: captcha
//!       regex: '(?i)captcha|자동입력'
//! console:                   # the mail desk (--web.enable-console)
//!   users: [postmaster]       # basic_auth_users of --web.config.file who may use it
//! ```

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::parse::webmail::{Classifier, Rule, default_rules};

/// How long and how many received messages are remembered for the delivery delay
/// (`delivery_delay:`; the join itself is [`crate::metrics::delay`]'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinLimits {
    /// Seconds of log time a received message is remembered.
    pub window_secs: i64,
    /// At most this many messages (about 40 bytes each).
    pub max_messages: usize,
}

impl Default for JoinLimits {
    fn default() -> JoinLimits {
        JoinLimits {
            window_secs: 86_400,
            max_messages: 100_000,
        }
    }
}

/// At most this many `domains:` (each adds 12 series).
pub const MAX_DOMAINS: usize = 100;

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// IANA time zone of XMail's local times.
    pub timezone: Option<String>,
    /// Webmail error classification.
    #[serde(default)]
    pub webmail: WebmailConfig,
    /// Delivery delay join limits.
    pub delivery_delay: Option<DelayConfig>,
    /// Local domains that get per-domain counters.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Who may use the mail desk (`--web.enable-console`).
    #[serde(default)]
    pub console: ConsoleConfig,
}

/// The `console:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Users of the web config's `basic_auth_users` who may use the mail desk.
    #[serde(default)]
    pub users: Vec<String>,
}

/// The `delivery_delay:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayConfig {
    /// How long a received message is remembered, e.g. `24h`.
    pub window: Option<String>,
    /// At most this many messages.
    pub max_messages: Option<usize>,
}

/// The `webmail:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebmailConfig {
    /// Rules checked before the built-in ones.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Whether the built-in rules follow the configured ones.
    #[serde(default = "yes")]
    pub default_rules: bool,
}

impl Default for WebmailConfig {
    fn default() -> WebmailConfig {
        WebmailConfig {
            rules: Vec::new(),
            default_rules: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// One rule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The category name.
    pub name: String,
    /// The regular expression.
    pub regex: String,
}

/// Validated settings shared by every command.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The zone XMail's local times are in.
    pub tz: TimeZone,
    /// Webmail error classification.
    pub classifier: Arc<Classifier>,
    /// Delivery delay join limits.
    pub join_limits: JoinLimits,
    /// Local domains that get per-domain counters, lower-case.
    pub domains: Vec<String>,
    /// Users of the web config who may use the mail desk (none: nobody).
    pub console_users: Vec<String>,
}

impl Settings {
    /// Loads the config file, if any, and validates it. Errors name the file and the fix.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let Some(path) = path else {
            return Settings::from_config(FileConfig::default(), "the default settings");
        };
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read config file {}: check the path given to --config",
                path.display()
            )
        })?;
        let cfg: FileConfig = if text.trim().is_empty() {
            FileConfig::default()
        } else {
            serde_yaml_ng::from_str(&text)
                .map_err(|e| anyhow::anyhow!("config file {} is not valid: {e}", path.display()))?
        };
        Settings::from_config(cfg, &path.display().to_string())
    }

    /// Validates a parsed config; `origin` names it in errors.
    pub fn from_config(cfg: FileConfig, origin: &str) -> anyhow::Result<Settings> {
        let tz = match &cfg.timezone {
            Some(name) => match TimeZone::get(name) {
                Ok(tz) => tz,
                Err(_) => bail!(
                    "unknown time zone {name:?} in {origin}: use an IANA name such as Asia/Seoul"
                ),
            },
            None => TimeZone::system(),
        };
        let mut rules: Vec<Rule> = cfg
            .webmail
            .rules
            .into_iter()
            .map(|r| Rule {
                name: r.name,
                regex: r.regex,
            })
            .collect();
        if cfg.webmail.default_rules {
            rules.extend(default_rules());
        }
        let classifier = Classifier::new(&rules).with_context(|| format!("in {origin}"))?;
        let mut join_limits = JoinLimits::default();
        if let Some(d) = cfg.delivery_delay {
            if let Some(w) = d.window {
                let secs = humantime::parse_duration(&w)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "delivery_delay.window {w:?} in {origin}: {e} (write e.g. 24h)"
                        )
                    })?
                    .as_secs();
                join_limits.window_secs = i64::try_from(secs).unwrap_or(i64::MAX);
            }
            if let Some(m) = d.max_messages {
                if m == 0 {
                    bail!("delivery_delay.max_messages in {origin} must be at least 1");
                }
                join_limits.max_messages = m;
            }
        }
        let mut domains: Vec<String> = Vec::new();
        for d in cfg.domains {
            let d = d.trim().to_ascii_lowercase();
            let valid = !d.is_empty()
                && d.len() <= 253
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !valid {
                bail!("domains: {d:?} in {origin} is not a domain name");
            }
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        if domains.len() > MAX_DOMAINS {
            bail!(
                "domains: {} listed in {origin}, at most {MAX_DOMAINS}",
                domains.len()
            );
        }
        let mut console_users: Vec<String> = Vec::new();
        for u in cfg.console.users {
            if u.is_empty() || u.contains(':') || u.chars().any(char::is_control) {
                bail!("console.users: {u:?} in {origin} is not a user name of basic_auth_users");
            }
            if !console_users.contains(&u) {
                console_users.push(u);
            }
        }
        Ok(Settings {
            tz,
            classifier: Arc::new(classifier),
            join_limits,
            domains,
            console_users,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> anyhow::Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yml");
        std::fs::write(&p, yaml).unwrap();
        Settings::load(Some(&p))
    }

    #[test]
    fn full_config() {
        let s = load("timezone: Asia/Seoul\nwebmail:\n  rules:\n    - name: captcha\n      regex: '(?i)captcha'\n").unwrap();
        assert_eq!(s.tz.iana_name(), Some("Asia/Seoul"));
        assert_eq!(s.classifier.categories()[0], "captcha");
        assert!(s.classifier.categories().contains(&"auth".to_string()));
    }

    #[test]
    fn without_default_rules() {
        let s = load("webmail:\n  default_rules: false\n  rules:\n    - {name: a, regex: x}\n")
            .unwrap();
        assert_eq!(s.classifier.categories(), ["a", "other"]);
    }

    #[test]
    fn delivery_delay_limits() {
        let s = load("delivery_delay:\n  window: 2h\n  max_messages: 10\n").unwrap();
        assert_eq!(
            s.join_limits,
            JoinLimits {
                window_secs: 7200,
                max_messages: 10
            }
        );
        assert!(load("delivery_delay:\n  window: often\n").is_err());
        assert!(load("delivery_delay:\n  max_messages: 0\n").is_err());
    }

    #[test]
    fn domains() {
        let s = load("domains: [Example.co.kr, example.co.kr, other.example]\n").unwrap();
        assert_eq!(s.domains, ["example.co.kr", "other.example"]);
        assert!(load("domains: ['bad domain']\n").is_err());
    }

    #[test]
    fn empty_file_is_defaults() {
        assert!(load("").is_ok());
    }

    #[test]
    fn errors_name_the_problem() {
        let e = format!("{:#}", load("timezone: Mars/Olympus\n").unwrap_err());
        assert!(e.contains("Mars/Olympus") && e.contains("IANA"), "{e}");
        let e = format!("{:#}", load("timezon: UTC\n").unwrap_err());
        assert!(e.contains("timezon"), "{e}");
        let e = format!(
            "{:#}",
            load("webmail:\n  rules:\n    - {name: a, regex: '('}\n").unwrap_err()
        );
        assert!(e.contains("bad regex"), "{e}");
        let e = format!(
            "{:#}",
            Settings::load(Some(Path::new("/nonexistent/x.yml"))).unwrap_err()
        );
        assert!(
            e.contains("/nonexistent/x.yml") && e.contains("--config"),
            "{e}"
        );
    }
}
