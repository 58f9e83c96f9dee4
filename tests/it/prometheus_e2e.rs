//! End-to-end with a real Prometheus server: the exporter starts on empty log directories
//! and a small spool tree built by the test ([`SPOOL`]), a throw-away Prometheus scrapes it
//! every second and evaluates `deploy/prometheus/alerts.yml` and `rules.yml`. On this fresh,
//! quiet install no alert expression may return anything. Then the sample logs of
//! `examples/logs` appear in the directories (as XMail's new files would) and every PromQL
//! expression of every dashboard (panels, template variables, annotations) and every alert
//! rule is sent to Prometheus' query API, with Grafana's template variables substituted the
//! way Grafana would.
//!
//! The four headline stats of the overview (`Received`, `Delivered`, `Bounced`, `Refused`)
//! must equal `report --format json`'s totals over the same files: they are evaluated at a
//! scrape's time stamp over a range that starts before the first scrape, so `increase()`
//! neither extrapolates nor misses the first samples (the counters start at 0).
//!
//! Every query must parse and evaluate; every dashboard query must return data (except the
//! few in [`MAY_BE_EMPTY`], with the reason); every selector of every alert must match a
//! series the exporter exports (a typo in a metric or label value would otherwise make an
//! alert that silently never fires); and every rule must evaluate without error.
//!
//! Needs the `prometheus` server binary (Debian package `prometheus`; `XMAIL_E2E_PROMETHEUS`
//! names another path). Without it the test fails, unless `XMAIL_E2E_OPTIONAL=1`, which turns
//! it into a skip. Both processes are killed when the test ends, also on panic (drop guards).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dashboards::{all_panels, dashboard_queries, load_dashboards, metric_selectors};
use crate::util::{Exporter, TempLogs, root};

/// Scrape and rule-evaluation interval of the test Prometheus.
const SCRAPE_SECONDS: u64 = 1;

/// The dashboard time range Grafana is assumed to show ("last 5 minutes").
const RANGE_SECONDS: u64 = 300;

/// Upper bound for the whole test; each wait below has its own, smaller bound.
const TEST_BUDGET: Duration = Duration::from_secs(110);

/// Queries that may return no data on healthy sample logs: (dashboard file, where, why).
/// `where` is a panel title or `annotation <name>`. Keep this list short and explained:
/// everything else must show data, or the dashboard shows an empty panel to users.
const MAY_BE_EMPTY: &[(&str, &str, &str)] = &[
    (
        "xmail-exporter-health.json",
        "annotation Exporter restarts",
        "marks exporter restarts (`changes(process_start_time_seconds) > 0`): empty unless the exporter restarted",
    ),
    (
        "xmail-overview.json",
        "annotation Exporter restarts",
        "marks exporter restarts: empty unless the exporter restarted",
    ),
    (
        "xmail-overview.json",
        "annotation Firing XMail alerts",
        "marks firing alerts: the one alert this test provokes is still pending (its `for:` is not waited for)",
    ),
];

/// The overview's headline stats and the `report --format json` total each must equal.
const HEADLINES: &[(&str, &str)] = &[
    ("Received", "received"),
    ("Delivered", "delivered"),
    ("Bounced", "bounced"),
    ("Refused", "refused"),
];

/// The spool tree the exporter counts (`--xmail.spool-dir`): (directory under the spool,
/// message files in it). XMail's layout: `local/`, `temp/` and `<n>/<m>/{mess,rsnd,froz}`;
/// `slog/` and `info/` hold per-message logs and headers, not messages. Counted: queued 3,
/// retry 2, frozen 1, local 1, temp 0; [`FROZEN_LATER`] more are frozen while Prometheus
/// watches.
const SPOOL: &[(&str, usize)] = &[
    ("local", 1),
    ("temp", 0),
    ("0/0/mess", 2),
    ("0/0/info", 2),
    ("0/1/rsnd", 2),
    ("3/7/mess", 1),
    ("3/7/froz", 1),
    ("3/7/slog", 1),
];

/// Messages frozen (in `3/7/froz`) together with the appended log traffic.
const FROZEN_LATER: usize = 10;

/// Alerts whose expression must return data on this test's data, with the reason: proof
/// that they read the live metric, not only promtool's synthetic series.
const FIRING_ON_TEST_DATA: &[(&str, &str)] = &[(
    "XmailSpoolFrozenGrowing",
    "FROZEN_LATER (10) messages were frozen while Prometheus watched (its `for:` is not waited for)",
)];

#[test]
#[cfg_attr(
    windows,
    ignore = "starts Debian's Linux prometheus server, which the Windows build under Wine cannot start"
)]
fn dashboards_and_alerts_work_against_a_real_prometheus() {
    let started = Instant::now();
    let Some(prometheus_bin) = find_prometheus() else {
        if std::env::var("XMAIL_E2E_OPTIONAL").as_deref() == Ok("1") {
            eprintln!("prometheus_e2e: skipped: no prometheus binary (XMAIL_E2E_OPTIONAL=1)");
            return;
        }
        panic!(
            "prometheus_e2e needs the Prometheus server binary: install it (Debian/Ubuntu: \
             `apt-get install prometheus`), or set XMAIL_E2E_PROMETHEUS=/path/to/prometheus; \
             XMAIL_E2E_OPTIONAL=1 skips this test instead"
        );
    };

    // Empty log directories: the exporter starts on a fresh, quiet host.
    let logs = TempLogs::new();
    let samples = root().join("examples/logs");
    let sample_lines = count_lines(&samples.join("xmail"), &["smtp-", "smail-", "pop3-"]);
    let spool = logs.tmp.path().join("spool");
    build_spool(&spool);

    // The samples' local domain gets the opt-in per-domain counters (the overview's domain row).
    let config = logs.tmp.path().join("config.yml");
    std::fs::write(&config, "domains: [example.co.kr]\n").unwrap();
    let exporter = Exporter::start(&[
        "--config",
        config.to_str().unwrap(),
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        logs.webmail.to_str().unwrap(),
        "--xmail.spool-dir",
        spool.to_str().unwrap(),
        "--xmail.spool-scan-interval",
        "250ms",
        "--tail.poll-interval",
        "250ms",
    ]);
    exporter.wait_for("the spool to be counted", |s| {
        s.get("xmail_spool_messages", &[("queue", "queued")]) == Some(3.0)
    });

    // No sample of this test's target exists before this moment.
    let range_start = unix_now() - 1.0;
    let prom = Prometheus::start(&prometheus_bin, exporter.addr);
    let ctx = Ctx {
        prom: &prom,
        exporter: &exporter,
    };

    // Several scrapes of the target before anything is asserted.
    ctx.wait_until(
        "Prometheus to scrape the exporter 5 times",
        Duration::from_secs(30),
        || {
            let v = ctx.scalar(r#"sum(count_over_time(up{job="xmail"}[1m]))"#);
            let up = ctx.scalar(r#"sum(up{job="xmail"})"#);
            v >= 5.0 && up == 1.0
        },
    );

    let mut failures = Vec::new();
    let mut checked = 0;

    // --- A fresh, quiet install pages nobody ---------------------------------------------
    let rules = alert_rules();
    assert!(rules.len() >= 12, "alerts.yml has {} alerts", rules.len());
    for (name, expr) in &rules {
        checked += 1;
        match ctx.query(expr) {
            Err(e) => failures.push(format!("alert {name}: {e}")),
            Ok(r) if !r.is_empty() => failures.push(format!(
                "alert {name}: fires on a fresh, quiet install: {r:?}"
            )),
            Ok(_) => {}
        }
    }

    // New traffic while Prometheus watches: XMail's files appear (read from their start).
    let mut appended = 0;
    for (from, to, prefixes) in [
        (
            samples.join("xmail"),
            &logs.xmail,
            &["smtp-", "smail-", "pop3-"][..],
        ),
        (samples.join("webmail"), &logs.webmail, &["error-"][..]),
    ] {
        for e in std::fs::read_dir(&from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if prefixes.iter().any(|p| name.starts_with(p)) {
                let bytes = std::fs::read(e.path()).unwrap();
                if to == &logs.xmail {
                    appended += bytes.iter().filter(|&&b| b == b'\n').count();
                }
                crate::util::append(&to.join(&name), &bytes);
            }
        }
    }
    assert_eq!(appended, sample_lines);
    // A wave of permanent failures: XMail freezes the messages.
    for i in 0..FROZEN_LATER {
        let name = format!("179579144{i}.7f3a.1f4c.3b1{i}.mail");
        std::fs::write(spool.join("3/7/froz").join(name), b"x").unwrap();
    }
    let frozen = (1 + FROZEN_LATER) as f64;
    ctx.wait_until(
        "Prometheus to see the appended lines and the frozen messages",
        Duration::from_secs(30),
        || {
            ctx.scalar(r#"sum(xmail_exporter_log_lines_total{job="xmail",log!="webmail"})"#)
                >= sample_lines as f64
                && ctx.scalar(r#"sum(xmail_spool_messages{job="xmail", queue="frozen"})"#) == frozen
        },
    );
    // A few more scrapes, so rate() windows have samples on both sides of the jump.
    std::thread::sleep(Duration::from_secs(3 * SCRAPE_SECONDS));

    // --- The headline stats equal report's totals ----------------------------------------
    let (ok, out, err) =
        crate::util::run_exporter(&["report", "--format", "json", "examples/logs"]);
    assert!(ok, "report failed: {err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    // The newest scrape's time stamp: no extrapolation past the last sample.
    let at = ctx.scalar(r#"max(timestamp(up{job="xmail"}))"#);
    let range = (at - range_start).ceil() as u64;
    let overview = load_dashboards()
        .into_iter()
        .find(|d| d.file == "xmail-overview.json")
        .expect("dashboards/xmail-overview.json");
    let headline_vars = GrafanaVars::with_range(exporter.addr, range);
    for (title, key) in HEADLINES {
        checked += 1;
        let want = report["totals"][key].as_u64().unwrap() as f64;
        let panels = all_panels(&overview.json);
        let Some(p) = panels
            .iter()
            .find(|p| p["type"] == "stat" && p["title"] == *title)
        else {
            failures.push(format!("overview: no stat panel titled {title:?}"));
            continue;
        };
        let targets = p["targets"].as_array().unwrap();
        if targets.len() != 1 {
            failures.push(format!(
                "overview: stat {title:?} has {} queries, not one",
                targets.len()
            ));
        }
        let q = headline_vars.interpolate(targets[0]["expr"].as_str().unwrap());
        let got = ctx
            .query_at(&q, at)
            .ok()
            .and_then(|r| r.first().and_then(sample_value));
        if got != Some(want) {
            failures.push(format!(
                "overview: stat {title:?} = {got:?}, report's totals.{key} = {want}\n    {q} @ {at}"
            ));
        }
    }
    if report["totals"]["bounced"].as_u64() == Some(0)
        || report["totals"]["refused"].as_u64() == Some(0)
    {
        failures.push(
            "the samples must hold bounces and refusals for this test to mean something".into(),
        );
    }

    let vars = GrafanaVars::new(exporter.addr);

    // --- Dashboards: panels, variables, annotations -----------------------------------
    for d in load_dashboards() {
        for (at, expr) in dashboard_queries(&d.json) {
            let q = vars.interpolate(&expr);
            checked += 1;
            match ctx.query(&q) {
                Err(e) => failures.push(format!("{}: {at}: {e}\n    {q}", d.file)),
                Ok(result) if result.is_empty() && !may_be_empty(&d.file, &at) => {
                    failures.push(format!("{}: {at}: no data\n    {q}", d.file))
                }
                Ok(_) => {}
            }
        }
        for v in d.json["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["type"] == "query")
        {
            let def = v["query"]["query"].as_str().unwrap();
            let (selector, label) = parse_label_values(def)
                .unwrap_or_else(|| panic!("{}: variable {}: {def}", d.file, v["name"]));
            // What Grafana asks with /api/v1/label/<label>/values?match[]=<selector>.
            let q = format!("count by ({label}) ({})", vars.interpolate(&selector));
            checked += 1;
            match ctx.query(&q) {
                Err(e) => {
                    failures.push(format!("{}: variable {}: {e}\n    {q}", d.file, v["name"]))
                }
                Ok(r) if r.is_empty() => failures.push(format!(
                    "{}: variable {}: no values\n    {q}",
                    d.file, v["name"]
                )),
                Ok(_) => {}
            }
        }
        for a in d.json["annotations"]["list"].as_array().unwrap() {
            let Some(expr) = a["expr"].as_str() else {
                continue;
            };
            let at = format!("annotation {}", a["name"].as_str().unwrap_or(""));
            let q = vars.interpolate(expr);
            checked += 1;
            match ctx.query(&q) {
                Err(e) => failures.push(format!("{}: {at}: {e}\n    {q}", d.file)),
                Ok(r) if r.is_empty() && !may_be_empty(&d.file, &at) => {
                    failures.push(format!("{}: {at}: no data\n    {q}", d.file))
                }
                Ok(_) => {}
            }
        }
        // The headline stats show the appended traffic, not 0 or NaN.
        for p in all_panels(&d.json)
            .into_iter()
            .filter(|p| p["type"] == "stat")
        {
            let title = p["title"].as_str().unwrap();
            let Some(check) = STAT_CHECKS.iter().find(|c| c.0 == d.file && c.1 == title) else {
                continue;
            };
            let q = vars.interpolate(p["targets"][0]["expr"].as_str().unwrap());
            let got = ctx
                .query(&q)
                .ok()
                .and_then(|r| r.first().and_then(sample_value));
            match got {
                Some(v) if (check.2)(v) => {}
                other => failures.push(format!(
                    "{}: stat {title:?} = {other:?}, expected {}\n    {q}",
                    d.file, check.3
                )),
            }
        }
        for (file, title, _, _) in STAT_CHECKS {
            if *file == d.file {
                assert!(
                    all_panels(&d.json).iter().any(|p| p["title"] == *title),
                    "STAT_CHECKS names a panel that no longer exists: {file} {title:?}"
                );
            }
        }
    }

    // --- Alert rules ---------------------------------------------------------------------
    for (alert, _) in FIRING_ON_TEST_DATA {
        assert!(
            rules.iter().any(|(name, _)| name == alert),
            "FIRING_ON_TEST_DATA names an alert that no longer exists: {alert}"
        );
    }
    for (name, expr) in &rules {
        checked += 1;
        match ctx.query(expr) {
            Err(e) => failures.push(format!("alert {name}: {e}")),
            Ok(r) => {
                if r.is_empty()
                    && let Some((_, why)) = FIRING_ON_TEST_DATA.iter().find(|(a, _)| a == name)
                {
                    failures.push(format!("alert {name}: no data, though {why}"));
                }
            }
        }
        // Every selector must match something the exporter exports: an alert over a
        // misspelt metric or label value would never fire.
        for (metric, selector) in metric_selectors(expr) {
            if metric == "up" {
                continue;
            }
            let sel = format!("{metric}{{{}}}", selector.unwrap_or_default());
            match ctx.query(&format!("count({sel})")) {
                Ok(r) if !r.is_empty() => {}
                other => failures.push(format!(
                    "alert {name}: selector {sel} matches no series ({other:?})"
                )),
            }
        }
    }
    // Prometheus itself evaluated the rule file (loaded through rule_files) without error.
    ctx.wait_until(
        "every rule group to be evaluated",
        Duration::from_secs(20),
        || {
            rule_states(&ctx)
                .iter()
                .all(|(_, health, _, evaluated)| *evaluated && health != "unknown")
        },
    );
    let states = rule_states(&ctx);
    assert_eq!(
        states.len(),
        rules.len(),
        "Prometheus loaded {} alerts, alerts.yml has {}",
        states.len(),
        rules.len()
    );
    for (name, health, error, _) in states {
        if health != "ok" || !error.is_empty() {
            failures.push(format!("rule {name}: health {health}: {error}"));
        }
    }
    for (name, health, error, evaluated) in rule_states_of(&ctx, "record") {
        if !evaluated || health != "ok" || !error.is_empty() {
            failures.push(format!("recording rule {name}: health {health}: {error}"));
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}\n\n--- prometheus log (tail) ---\n{}\n--- exporter log (tail) ---\n{}\n--- last scrape ---\n{}",
        failures.len(),
        failures.join("\n"),
        tail(&prom.log()),
        tail(&exporter.log()),
        exporter.scrape().text,
    );
    eprintln!(
        "prometheus_e2e: {checked} queries checked in {:.1?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < TEST_BUDGET,
        "took {:.1?}, budget {TEST_BUDGET:?}",
        started.elapsed()
    );
}

/// Expected values of stat panels after the appended traffic: (file, title, check, what).
type StatCheck = (&'static str, &'static str, fn(f64) -> bool, &'static str);
const STAT_CHECKS: &[StatCheck] = &[
    // Received, Delivered, Bounced and Refused are checked against report's totals above.
    (
        "xmail-overview.json",
        "Recipient acceptance",
        |v| v > 0.0 && v < 1.0,
        "a ratio strictly between 0 and 1",
    ),
    (
        "xmail-overview.json",
        "Queued messages",
        |v| v == 3.0,
        "3 (the test spool)",
    ),
    (
        "xmail-overview.json",
        "Frozen messages",
        |v| v == 11.0,
        "11 (1 + FROZEN_LATER in the test spool)",
    ),
    (
        "xmail-overview.json",
        "Retry queue",
        |v| v == 2.0,
        "2 (the test spool)",
    ),
    ("xmail-overview.json", "Exporter", |v| v == 1.0, "1 (up)"),
    (
        "xmail-exporter-health.json",
        "Exporter",
        |v| v == 1.0,
        "1 (up)",
    ),
    (
        "xmail-exporter-health.json",
        "Lines read",
        |v| v > 0.0,
        "> 0",
    ),
    (
        "xmail-exporter-health.json",
        "Read errors",
        |v| v == 0.0,
        "0",
    ),
];

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `at` is `annotation <name>` or `panel <id> "<title>" query "<refId>"`.
fn may_be_empty(file: &str, at: &str) -> bool {
    MAY_BE_EMPTY
        .iter()
        .any(|(f, w, _)| *f == file && (at == *w || at.contains(&format!("{w:?}"))))
}

/// The template variables as Grafana sets them for a "last 5 minutes" dashboard on a data
/// source whose scrape interval (`timeInterval`) is the test's.
struct GrafanaVars {
    vars: Vec<(&'static str, String)>,
}

impl GrafanaVars {
    fn new(exporter: SocketAddr) -> GrafanaVars {
        GrafanaVars::with_range(exporter, RANGE_SECONDS)
    }

    /// The variables of a dashboard whose time range is the last `range` seconds.
    fn with_range(exporter: SocketAddr, range: u64) -> GrafanaVars {
        // $__interval: range / max data points (300 s / ~1000 px < 1 s), raised to the data
        // source's minimum interval, the scrape interval.
        let interval = SCRAPE_SECONDS;
        // $__rate_interval = max($__interval + scrape interval, 4 * scrape interval).
        let rate_interval = (interval + SCRAPE_SECONDS).max(4 * SCRAPE_SECONDS);
        // `instance` is multi-value: Grafana escapes regex metacharacters of the selected
        // value for use in `=~` (prometheusSpecialRegexEscape), so `.` becomes `\\.` in the
        // query text. `job` is single-value: only `\` and `'` would be escaped.
        let instance = regex_escape_like_grafana(&exporter.to_string());
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
    fn interpolate(&self, expr: &str) -> String {
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

fn regex_escape_like_grafana(v: &str) -> String {
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
fn parse_label_values(def: &str) -> Option<(String, String)> {
    let inner = def
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let (sel, label) = inner.rsplit_once(',')?;
    Some((sel.trim().to_string(), label.trim().to_string()))
}

/// The alerts of deploy/prometheus/alerts.yml: (name, expression).
fn alert_rules() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut out = Vec::new();
    for g in doc["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            if let (Some(name), Some(expr)) = (r["alert"].as_str(), r["expr"].as_str()) {
                out.push((name.to_string(), expr.to_string()));
            }
        }
    }
    out
}

/// (alert name, health, last error, evaluated at least once) from /api/v1/rules.
fn rule_states(ctx: &Ctx<'_>) -> Vec<(String, String, String, bool)> {
    rule_states_of(ctx, "alert")
}

/// Like [`rule_states`], for `kind` `alert` or `record`.
fn rule_states_of(ctx: &Ctx<'_>, kind: &str) -> Vec<(String, String, String, bool)> {
    let body = ctx
        .api(&format!("/api/v1/rules?type={kind}"))
        .expect("GET /api/v1/rules");
    let mut out = Vec::new();
    for g in body["data"]["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            let evaluated = r["lastEvaluation"]
                .as_str()
                .is_some_and(|t| !t.starts_with("0001-"));
            out.push((
                r["name"].as_str().unwrap_or("").to_string(),
                r["health"].as_str().unwrap_or("").to_string(),
                r["lastError"].as_str().unwrap_or("").to_string(),
                evaluated,
            ));
        }
    }
    out
}

/// The value of one instant-vector sample (`[ts, "value"]`).
fn sample_value(s: &Value) -> Option<f64> {
    s["value"][1].as_str()?.parse().ok()
}

struct Ctx<'a> {
    prom: &'a Prometheus,
    exporter: &'a Exporter,
}

impl Ctx<'_> {
    /// GETs an API path and returns the JSON body when its status is "success".
    fn api(&self, path_and_query: &str) -> Result<Value, String> {
        let (status, body) = http10_get(self.prom.addr, path_and_query)?;
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
    fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
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
    fn query_at(&self, promql: &str, at: f64) -> Result<Vec<Value>, String> {
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
    fn scalar(&self, promql: &str) -> f64 {
        match self.query(promql) {
            Ok(r) if r.len() == 1 => sample_value(&r[0]).unwrap_or(f64::NAN),
            _ => f64::NAN,
        }
    }

    fn wait_until(&self, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !cond() {
            if Instant::now() > deadline {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n--- prometheus log (tail) ---\n{}\n--- exporter log (tail) ---\n{}",
                    tail(&self.prom.log()),
                    tail(&self.exporter.log())
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A child process, killed (and reaped) on drop.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Prometheus server on a free loopback port with its own storage; killed on drop.
struct Prometheus {
    /// Held for its `Drop`: the server dies with this value.
    _child: KillOnDrop,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(bin: &Path, target: SocketAddr) -> Prometheus {
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
                 scrape_configs:\n  - job_name: xmail\n    static_configs:\n      - targets: [\"{target}\"]\n"
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

    fn log(&self) -> String {
        read_log(&self.dir.path().join("prometheus.log"))
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The Prometheus server binary: `XMAIL_E2E_PROMETHEUS`, /usr/bin/prometheus, or `PATH`.
fn find_prometheus() -> Option<PathBuf> {
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
fn http10_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
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

fn percent_encode(s: &str) -> String {
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

/// Builds [`SPOOL`] under `dir`.
fn build_spool(dir: &Path) {
    for (sub, files) in SPOOL {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..*files {
            std::fs::write(d.join(format!("179579133{i}.7f3a.1f4c.3a1{i}.mail")), b"x").unwrap();
        }
    }
}

/// LF count of the files in `dir` whose names start with one of `prefixes`.
fn count_lines(dir: &Path, prefixes: &[&str]) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            prefixes.iter().any(|pre| n.starts_with(pre))
        })
        .map(|p| {
            std::fs::read(p)
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        })
        .sum()
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
