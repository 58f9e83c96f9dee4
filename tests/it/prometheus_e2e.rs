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

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dashboards::{all_panels, dashboard_queries, load_dashboards, metric_selectors};
use crate::prom::{
    GrafanaVars, Prometheus, SCRAPE_SECONDS, parse_label_values, prometheus_or_skip, sample_value,
    tail, unix_now,
};
use crate::util::{Exporter, TempLogs, root};

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
    let Some(prometheus_bin) = prometheus_or_skip("prometheus_e2e") else {
        return;
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

/// `at` is `annotation <name>` or `panel <id> "<title>" query "<refId>"`.
fn may_be_empty(file: &str, at: &str) -> bool {
    MAY_BE_EMPTY
        .iter()
        .any(|(f, w, _)| *f == file && (at == *w || at.contains(&format!("{w:?}"))))
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

struct Ctx<'a> {
    prom: &'a Prometheus,
    exporter: &'a Exporter,
}

impl Ctx<'_> {
    fn api(&self, path_and_query: &str) -> Result<Value, String> {
        self.prom.api(path_and_query)
    }

    fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        self.prom.query(promql)
    }

    fn query_at(&self, promql: &str, at: f64) -> Result<Vec<Value>, String> {
        self.prom.query_at(promql, at)
    }

    fn scalar(&self, promql: &str) -> f64 {
        self.prom.scalar(promql)
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
