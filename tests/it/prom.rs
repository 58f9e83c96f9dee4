//! A throw-away Prometheus server for the end-to-end tests ([`crate::prometheus_e2e`],
//! [`crate::fleet`]): finding the binary (or failing, or skipping with
//! `XMAIL_E2E_OPTIONAL=1`), starting it on a free port with a generated configuration and the
//! project's rule files, its query API, and Grafana's template variables as Grafana would
//! substitute them. What to scrape and what to assert is left to each test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::root;

/// Scrape and rule-evaluation interval of the test Prometheus servers.
pub const SCRAPE_SECONDS: u64 = 1;

/// The dashboard time range Grafana is assumed to show ("last 5 minutes").
pub const RANGE_SECONDS: u64 = 300;

/// The Prometheus binary, or `None` when the test `name` is to be skipped: without a
/// binary this panics (the test fails) unless `XMAIL_E2E_OPTIONAL=1`.
pub fn prometheus_or_skip(name: &str) -> Option<PathBuf> {
    if let Some(bin) = find_prometheus() {
        return Some(bin);
    }
    if std::env::var("XMAIL_E2E_OPTIONAL").as_deref() == Ok("1") {
        eprintln!("{name}: skipped: no prometheus binary (XMAIL_E2E_OPTIONAL=1)");
        return None;
    }
    panic!(
        "{name} needs the Prometheus server binary: install it (Debian/Ubuntu: \
         `apt-get install prometheus`), or set XMAIL_E2E_PROMETHEUS=/path/to/prometheus; \
         XMAIL_E2E_OPTIONAL=1 skips this test instead"
    );
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The value of one instant-vector sample (`[ts, "value"]`).
pub fn sample_value(s: &Value) -> Option<f64> {
    s["value"][1].as_str()?.parse().ok()
}

/// The last 30 lines of `s`.
pub fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The template variables as Grafana sets them for a "last 5 minutes" dashboard on a data
/// source whose scrape interval (`timeInterval`) is the test's.
pub struct GrafanaVars {
    vars: Vec<(&'static str, String)>,
}

impl GrafanaVars {
    pub fn new(exporter: SocketAddr) -> GrafanaVars {
        GrafanaVars::with_range(exporter, RANGE_SECONDS)
    }

    /// The variables of a dashboard whose time range is the last `range` seconds.
    pub fn with_range(exporter: SocketAddr, range: u64) -> GrafanaVars {
        GrafanaVars::with_instances(&[&exporter.to_string()], range)
    }

    /// Like [`GrafanaVars::with_range`], with `instances` selected in the multi-value
    /// `instance` variable.
    pub fn with_instances(instances: &[&str], range: u64) -> GrafanaVars {
        assert!(!instances.is_empty(), "no instance selected");
        // $__interval: range / max data points (300 s / ~1000 px < 1 s), raised to the data
        // source's minimum interval, the scrape interval.
        let interval = SCRAPE_SECONDS;
        // $__rate_interval = max($__interval + scrape interval, 4 * scrape interval).
        let rate_interval = (interval + SCRAPE_SECONDS).max(4 * SCRAPE_SECONDS);
        // `instance` is multi-value: Grafana escapes regex metacharacters of the selected
        // value for use in `=~` (prometheusSpecialRegexEscape), so `.` becomes `\\.` in the
        // query text. `job` is single-value: only `\` and `'` would be escaped.
        // Several selected values become `(a|b|c)`, each escaped.
        let escaped: Vec<String> = instances
            .iter()
            .map(|i| regex_escape_like_grafana(i))
            .collect();
        let instance = match escaped.as_slice() {
            [one] => one.clone(),
            all => format!("({})", all.join("|")),
        };
        GrafanaVars {
            vars: vec![
                ("__rate_interval", format!("{rate_interval}s")),
                ("__interval_ms", (interval * 1000).to_string()),
                ("__interval", format!("{interval}s")),
                ("__range_ms", (range * 1000).to_string()),
                ("__range_s", range.to_string()),
                ("__range", format!("{range}s")),
                ("datasource", "prometheus".to_string()),
                ("instance", instance),
                ("job", "xmail".to_string()),
                ("domain", ".+".to_string()),
            ],
        }
    }

    /// Replaces `${name}`, `${name:fmt}` and `$name` (longest names first), then checks that
    /// no variable is left.
    pub fn interpolate(&self, expr: &str) -> String {
        let mut out = expr.to_string();
        for (name, value) in &self.vars {
            out = out.replace(&format!("${{{name}}}"), value);
            for fmt in [":raw", ":regex", ":text"] {
                out = out.replace(&format!("${{{name}{fmt}}}"), value);
            }
            out = out.replace(&format!("[[{name}]]"), value);
            out = out.replace(&format!("${name}"), value);
        }
        assert!(
            !out.contains('$'),
            "unknown template variable left in {out}"
        );
        out
    }
}

pub fn regex_escape_like_grafana(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        match c {
            '\\' => out.push_str(r"\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '\'' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str(r"\\");
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `label_values(selector, label)` -> (selector, label).
pub fn parse_label_values(def: &str) -> Option<(String, String)> {
    let inner = def
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let (sel, label) = inner.rsplit_once(',')?;
    Some((sel.trim().to_string(), label.trim().to_string()))
}

/// A child process, killed (and reaped) on drop.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Prometheus server on a free loopback port with its own storage; killed on drop.
pub struct Prometheus {
    /// Held for its `Drop`: the server dies with this value.
    _child: KillOnDrop,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` as job `xmail`.
    pub fn start(bin: &Path, target: SocketAddr) -> Prometheus {
        Prometheus::start_with(
            bin,
            &format!("  - job_name: xmail\n    static_configs:\n      - targets: [\"{target}\"]\n"),
        )
    }

    /// Starts Prometheus with `scrape_configs` (the YAML list under that key, indented by
    /// two spaces), the [`SCRAPE_SECONDS`] scrape and evaluation interval, and
    /// `deploy/prometheus/alerts.yml` and `rules.yml` as its rule files.
    pub fn start_with(bin: &Path, scrape_configs: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("alerts.yml");
        std::fs::copy(root().join("deploy/prometheus/alerts.yml"), &rules).unwrap();
        // The recording rules the alerts and the fleet table read.
        let recording = dir.path().join("rules.yml");
        let recorded = root().join("deploy/prometheus/rules.yml");
        if recorded.exists() {
            std::fs::copy(&recorded, &recording).unwrap();
        } else {
            std::fs::write(&recording, "groups: []\n").unwrap();
        }
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: {SCRAPE_SECONDS}s\n  scrape_timeout: {SCRAPE_SECONDS}s\n  \
                 evaluation_interval: {SCRAPE_SECONDS}s\n\
                 rule_files:\n  - {rules:?}\n  - {recording:?}\n\
                 scrape_configs:\n{scrape_configs}"
            ),
        )
        .unwrap();
        let log_path = dir.path().join("prometheus.log");
        // A free port: bind port 0, note the port, release it. Another process could take
        // it in between; then Prometheus exits and the next attempt uses another port.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let log = std::fs::File::create(&log_path).unwrap();
            let mut child = KillOnDrop(
                Command::new(bin)
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!(
                        "--storage.tsdb.path={}",
                        dir.path().join("data").display()
                    ))
                    .arg(format!("--web.listen-address={addr}"))
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display())),
            );
            let deadline = Instant::now() + Duration::from_secs(30);
            let exited = loop {
                if let Ok(Some(_)) = child.0.try_wait() {
                    break true;
                }
                if matches!(http10_get(addr, "/-/ready"), Ok((200, _))) {
                    break false;
                }
                if Instant::now() > deadline {
                    panic!(
                        "Prometheus not ready after 30 s:\n{}",
                        tail(&read_log(&log_path))
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            if !exited {
                return Prometheus {
                    _child: child,
                    addr,
                    dir,
                };
            }
            eprintln!(
                "prometheus exited at start-up (port {port} taken?):\n{}",
                tail(&read_log(&log_path))
            );
        }
        panic!(
            "could not start Prometheus on a free port:\n{}",
            tail(&read_log(&log_path))
        );
    }

    /// GETs an API path and returns the JSON body when its status is "success".
    pub fn api(&self, path_and_query: &str) -> Result<Value, String> {
        let (status, body) = http10_get(self.addr, path_and_query)?;
        let json: Value = serde_json::from_str(&body)
            .map_err(|e| format!("HTTP {status}, not JSON ({e}): {body}"))?;
        if json["status"] != "success" {
            return Err(format!(
                "HTTP {status}: {}: {}",
                json["errorType"], json["error"]
            ));
        }
        Ok(json)
    }

    /// An instant query at "now": the result samples (a scalar result counts as one).
    pub fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let json = self.api(&format!("/api/v1/query?query={}", percent_encode(promql)))?;
        let data = &json["data"];
        match data["resultType"].as_str() {
            Some("vector") | Some("matrix") => {
                Ok(data["result"].as_array().cloned().unwrap_or_default())
            }
            Some("scalar") => Ok(vec![serde_json::json!({"value": data["result"].clone()})]),
            other => Err(format!("unexpected result type {other:?}")),
        }
    }

    /// An instant query at Unix time `at`.
    pub fn query_at(&self, promql: &str, at: f64) -> Result<Vec<Value>, String> {
        let json = self.api(&format!(
            "/api/v1/query?query={}&time={at:.3}",
            percent_encode(promql)
        ))?;
        Ok(json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The single value of a query that must return exactly one sample (NaN otherwise).
    pub fn scalar(&self, promql: &str) -> f64 {
        match self.query(promql) {
            Ok(r) if r.len() == 1 => sample_value(&r[0]).unwrap_or(f64::NAN),
            _ => f64::NAN,
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("prometheus.log"))
    }
}

pub fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The Prometheus server binary: `XMAIL_E2E_PROMETHEUS`, /usr/bin/prometheus, or `PATH`.
pub fn find_prometheus() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("XMAIL_E2E_PROMETHEUS") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "XMAIL_E2E_PROMETHEUS={} is not a file",
            p.display()
        );
        return Some(p);
    }
    let debian = PathBuf::from("/usr/bin/prometheus");
    if debian.is_file() {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
}

/// GET over HTTP/1.0, so Prometheus (Go) answers without chunked transfer encoding and
/// closes the connection: the body is everything after the headers.
pub fn http10_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("bad HTTP response: {text}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
