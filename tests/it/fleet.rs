//! A fleet of mail hosts end to end: three exporters, each on a log directory and a spool of
//! its own ([`HOSTS`]: all the samples, a subset of them, the samples plus generated
//! traffic), scraped by one Prometheus ("site", the `xmail` job of
//! `deploy/prometheus/fleet-prometheus.yml`, file-based service discovery, one `instance`
//! label per host), and a second Prometheus ("global") that federates the site server with
//! the job of `deploy/prometheus/federate-example.yml`: raw series only, `honor_labels`.
//! Both evaluate `rules.yml` and `alerts.yml` themselves.
//!
//! On the global server, checked against `report --format json` over each host's files and
//! against the site server:
//! - the overview's "Fleet" table (every query, all three instances selected) has one row
//!   per host with that host's own numbers, not the sum or another host's;
//! - the `instance` variable lists exactly the three hosts;
//! - every recording rule has exactly one series per host (per log for the one that keeps
//!   `log`), with the labels the rule gives it, and no recorded series or `ALERTS` came in
//!   through `/federate`; the federation scrape had no duplicate or out-of-order samples;
//! - the headline stats per host equal the site server's and `report`'s totals;
//! - every dashboard query evaluates, and returns data wherever it does on the site server.
//!
//! Prometheus is found, required or skipped as in [`crate::prometheus_e2e`] (`crate::prom`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dashboards::{all_panels, dashboard_queries, load_dashboards};
use crate::prom::{
    GrafanaVars, Prometheus, RANGE_SECONDS, http10_get, parse_label_values, percent_encode,
    prometheus_or_skip, sample_value, tail, unix_now,
};
use crate::util::{Exporter, TempLogs, root, smtp_line};

/// Upper bound for the whole test.
const TEST_BUDGET: Duration = Duration::from_secs(60);

/// History the global server holds before the rates are read: the rate windows' edge
/// extrapolation then adds at most ~1.1 scrape intervals / this to a count.
const HISTORY: Duration = Duration::from_secs(12);

/// A `rate1h * 3600` column counts the host's traffic, plus the rate's extrapolation at the
/// window's end (at most about 2.2 s / [`HISTORY`]; its start is the counter's 0).
const RATE_SLACK: f64 = 0.25;

/// What each mail host gets.
#[derive(Clone, Copy)]
enum Traffic {
    /// Every sample log (XMail and webmail).
    AllSamples,
    /// Three of the sample files: the old-format SMTP and SMAIL logs and POP3.
    Subset,
    /// Every sample log plus [`EXTRA_RECEIVED`] received messages, [`EXTRA_REFUSED`]
    /// refused recipients and [`EXTRA_DELIVERED`] local deliveries of its own.
    SamplesAndMore,
}

const EXTRA_RECEIVED: usize = 20;
const EXTRA_REFUSED: usize = 10;
const EXTRA_DELIVERED: usize = 15;

/// The hosts: (instance label, traffic, retry queue, frozen messages).
const HOSTS: [(&str, Traffic, usize, usize); 3] = [
    ("mx1.example.org:10587", Traffic::AllSamples, 2, 1),
    ("mx2.example.org:10587", Traffic::Subset, 0, 0),
    ("mx3.example.org:10587", Traffic::SamplesAndMore, 7, 3),
];

/// The overview's headline stats and the `report --format json` total each must equal.
const HEADLINES: &[(&str, &str)] = &[
    ("Received", "received"),
    ("Delivered", "delivered"),
    ("Bounced", "bounced"),
    ("Refused", "refused"),
];

/// One mail host: its files, its exporter and what `report` counts in its files.
struct Host {
    instance: &'static str,
    logs: TempLogs,
    exporter: Exporter,
    retry: usize,
    frozen: usize,
    traffic: Traffic,
}

#[test]
#[cfg_attr(
    windows,
    ignore = "starts Debian's Linux prometheus servers, which the Windows build under Wine cannot start"
)]
fn three_hosts_through_a_site_and_a_federating_prometheus() {
    let started = Instant::now();
    let Some(bin) = prometheus_or_skip("fleet") else {
        return;
    };

    // --- Three quiet hosts, each with its own spool -----------------------------------------
    let hosts: Vec<Host> = HOSTS
        .iter()
        .map(|&(instance, traffic, retry, frozen)| {
            let logs = TempLogs::new();
            let spool = logs.tmp.path().join("spool");
            for (sub, n) in [
                ("local", 0),
                ("temp", 0),
                ("0/0/mess", 1),
                ("0/1/rsnd", retry),
                ("0/2/froz", frozen),
            ] {
                let d = spool.join(sub);
                std::fs::create_dir_all(&d).unwrap();
                for i in 0..n {
                    std::fs::write(d.join(format!("17957913{i:02}.7f3a.1f4c.3a10.mail")), b"x")
                        .unwrap();
                }
            }
            let exporter = Exporter::start(&[
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
                s.get("xmail_spool_messages", &[("queue", "frozen")]) == Some(frozen as f64)
            });
            Host {
                instance,
                logs,
                exporter,
                retry,
                frozen,
                traffic,
            }
        })
        .collect();
    let instances: Vec<&str> = hosts.iter().map(|h| h.instance).collect();

    // No sample of these targets exists before this moment.
    let range_start = unix_now() - 1.0;

    // --- The site server: file_sd targets, one instance label per host -------------------
    let sd = tempfile::tempdir().unwrap();
    let targets = sd.path().join("xmail-test.yml");
    let mut groups = String::new();
    for h in &hosts {
        // All exporters listen on 127.0.0.1: the host name comes from the `instance` label.
        groups.push_str(&format!(
            "- targets: [\"{}\"]\n  labels:\n    instance: \"{}\"\n",
            h.exporter.addr, h.instance
        ));
    }
    std::fs::write(&targets, groups).unwrap();
    let site_job = example_job("fleet-prometheus.yml", "xmail", |job| {
        job["file_sd_configs"][0]["files"] = yaml_seq(&[targets.to_str().unwrap()]);
    });
    let site = Prometheus::start_with(&bin, &site_job);
    let ctx = Ctx {
        hosts: &hosts,
        servers: vec![("site", &site)],
    };
    ctx.wait_until("the site server to scrape each host 3 times", || {
        per_instance(&site, r#"count_over_time(up{job="xmail"}[1m]) >= 3"#).len() == 3
    });

    // --- The global server: federates the site server's raw series ----------------------
    let federate_job = example_job("federate-example.yml", "federate-xmail", |job| {
        job["static_configs"][0]["targets"] = yaml_seq(&[&site.addr.to_string()]);
    });
    let match_param = example_match("federate-example.yml", "federate-xmail");
    let global = Prometheus::start_with(&bin, &federate_job);
    let global_started = Instant::now();
    let ctx = Ctx {
        hosts: &hosts,
        servers: vec![("site", &site), ("global", &global)],
    };
    // The global server holds each host's counters at 0 before any traffic: the headline
    // `increase()`s then start at 0, as on the site server.
    ctx.wait_until("the global server to hold 2 samples of each host", || {
        per_instance(
            &global,
            r#"count_over_time(xmail_mail_received_total{job="xmail", source="external"}[1m]) >= 2"#,
        )
        .len()
            == 3
    });

    // --- Traffic: each host its own --------------------------------------------------------
    let samples = root().join("examples/logs");
    let mut reports = BTreeMap::new();
    for h in &hosts {
        add_traffic(h, &samples);
        reports.insert(h.instance, report_totals(&h.logs));
    }
    let (a, b, c) = (
        &reports[HOSTS[0].0],
        &reports[HOSTS[1].0],
        &reports[HOSTS[2].0],
    );
    // The generated traffic counts as meant, and every host's numbers differ.
    assert_eq!(
        total(c, "received"),
        total(a, "received") + EXTRA_RECEIVED as f64
    );
    assert_eq!(
        total(c, "refused"),
        total(a, "refused") + EXTRA_REFUSED as f64
    );
    assert_eq!(
        total(c, "delivered"),
        total(a, "delivered") + EXTRA_DELIVERED as f64
    );
    for (_, key) in HEADLINES {
        assert!(
            total(b, key) < total(a, key) && total(a, key) <= total(c, key),
            "{key}: the subset host must count fewer than the samples host: {} {} {}",
            total(a, key),
            total(b, key),
            total(c, key)
        );
    }

    // Both servers hold every host's final counts.
    for (name, server) in [("site", &site), ("global", &global)] {
        ctx.wait_until(
            &format!("the {name} server to hold every host's traffic"),
            || {
                hosts.iter().all(|h| {
                    HEADLINES.iter().all(|(_, key)| {
                        let q = format!(
                            r#"sum(xmail_mail_{key}_total{{job="xmail", instance="{}"}})"#,
                            h.instance
                        );
                        server.scalar(&q) == total(&reports[h.instance], key)
                    })
                })
            },
        );
    }
    // Enough history for the hourly rates, then two more rule evaluations.
    if let Some(left) = HISTORY.checked_sub(global_started.elapsed()) {
        std::thread::sleep(left);
    }
    std::thread::sleep(Duration::from_secs(2));

    let mut failures: Vec<String> = Vec::new();
    let overview = load_dashboards()
        .into_iter()
        .find(|d| d.file == "xmail-overview.json")
        .expect("dashboards/xmail-overview.json");
    let all = GrafanaVars::with_instances(&instances, RANGE_SECONDS);

    // --- (1) The fleet table on the global server ------------------------------------------
    let panels = all_panels(&overview.json);
    let fleet = panels
        .iter()
        .find(|p| p["type"] == "table" && p["title"] == "Fleet")
        .expect("overview: a table panel titled Fleet");
    let columns: BTreeMap<String, String> = fleet["transformations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "organize")
        .and_then(|t| t["options"]["renameByName"].as_object())
        .expect("Fleet: an organize transformation renaming the columns")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let mut table: BTreeMap<String, BTreeMap<&str, f64>> = BTreeMap::new();
    for t in fleet["targets"].as_array().unwrap() {
        let ref_id = t["refId"].as_str().unwrap();
        let column = columns
            .get(&format!("Value #{ref_id}"))
            .unwrap_or_else(|| panic!("Fleet: query {ref_id} has no column name"))
            .clone();
        let q = all.interpolate(t["expr"].as_str().unwrap());
        let rows = match global.query(&q) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("Fleet {column}: {e}\n    {q}"));
                continue;
            }
        };
        let mut got = BTreeMap::new();
        for r in &rows {
            let instance = r["metric"]["instance"].as_str().unwrap_or("").to_string();
            if r["metric"]["job"] != "xmail" {
                failures.push(format!(
                    "Fleet {column}: a row of job {}",
                    r["metric"]["job"]
                ));
            }
            if let Some(h) = hosts.iter().find(|h| h.instance == instance) {
                got.insert(h.instance, sample_value(r).unwrap_or(f64::NAN));
            } else {
                failures.push(format!("Fleet {column}: a row for {instance:?}"));
            }
        }
        if rows.len() != hosts.len() || got.len() != hosts.len() {
            failures.push(format!(
                "Fleet {column}: {} rows for {} hosts, not one each: {rows:?}\n    {q}",
                rows.len(),
                hosts.len()
            ));
        }
        table.insert(column, got);
    }
    for h in &hosts {
        let r = &reports[h.instance];
        let cell = |column: &str| table.get(column).and_then(|c| c.get(h.instance)).copied();
        let exact = |column: &str, want: f64, failures: &mut Vec<String>| {
            let got = cell(column);
            if !got.is_some_and(|v| (v - want).abs() < 1e-9) {
                failures.push(format!(
                    "Fleet {}: {column} = {got:?}, want {want}",
                    h.instance
                ));
            }
        };
        exact("Up", 1.0, &mut failures);
        exact("Retry", h.retry as f64, &mut failures);
        exact("Frozen", h.frozen as f64, &mut failures);
        // refused / (refused + received): both rates share the host's scrape times, so the
        // extrapolation cancels and the ratio is report's.
        let (refused, received) = (total(r, "refused"), total(r, "received"));
        exact("Refused", refused / (refused + received), &mut failures);
        for (column, key) in [("Received/h", "received"), ("Delivered/h", "delivered")] {
            let want = total(r, key);
            let got = cell(column);
            if !got.is_some_and(|v| v >= want - 1e-9 && v <= want * (1.0 + RATE_SLACK)) {
                failures.push(format!(
                    "Fleet {}: {column} = {got:?}, want {want} (report: the host's whole \
                     traffic, in the last hour) to {:.0}% more",
                    h.instance,
                    RATE_SLACK * 100.0
                ));
            }
        }
        // The age of the newest line of the SMTP or the SMAIL log, whichever is older, from
        // the raw series on the site server.
        let q = format!(
            r#"max(time() - (xmail_exporter_log_last_event_timestamp_seconds{{job="xmail", instance="{}", log=~"smtp|smail"}} > 0))"#,
            h.instance
        );
        let want = site.scalar(&q);
        let got = cell("Last SMTP/SMAIL line");
        if !got.is_some_and(|v| (v - want).abs() < 10.0) {
            failures.push(format!(
                "Fleet {}: Last SMTP/SMAIL line = {got:?}, the site server says {want}",
                h.instance
            ));
        }
    }
    // Newest traffic on mx3 (generated lines of 2026-11-28), then mx1, then mx2 (2007).
    let age = |i: usize| table["Last SMTP/SMAIL line"].get(HOSTS[i].0).copied();
    if !(age(2) < age(0) && age(0) < age(1)) {
        failures.push(format!(
            "Fleet: Last SMTP/SMAIL line not each host's own: {:?}",
            table.get("Last SMTP/SMAIL line")
        ));
    }

    // --- (2) The template variables list exactly the three hosts --------------------------
    for v in overview.json["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"] == "instance" || v["name"] == "job")
    {
        let def = v["query"]["query"].as_str().unwrap();
        let (selector, label) = parse_label_values(def).expect("label_values(selector, label)");
        // What Grafana asks: /api/v1/label/<label>/values?match[]=<selector>.
        let path = format!(
            "/api/v1/label/{label}/values?match[]={}",
            percent_encode(&all.interpolate(&selector))
        );
        let got: BTreeSet<String> = global
            .api(&path)
            .expect("label values")
            .get("data")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let want: BTreeSet<String> = if label == "instance" {
            instances.iter().map(|s| s.to_string()).collect()
        } else {
            BTreeSet::from(["xmail".to_string()])
        };
        if got != want {
            failures.push(format!(
                "variable {label}: {got:?}, want {want:?}\n    {path}"
            ));
        }
    }

    // --- (3) Recorded series: evaluated here, one per host, none federated ----------------
    let recorded = recording_rules();
    assert!(
        recorded.len() >= 10,
        "rules.yml has {} records",
        recorded.len()
    );
    let federated = federate_names(&site, &match_param);
    let unfiltered = federate_names(&site, r#"{job="xmail"}"#);
    for (name, instance) in &federated {
        if name.contains(':') || name.starts_with("ALERTS") {
            failures.push(format!("/federate sends {name} of {instance}"));
        }
    }
    for h in &hosts {
        if !federated.contains(&(
            "xmail_mail_received_total".to_string(),
            h.instance.to_string(),
        )) {
            failures.push(format!(
                "/federate sends no xmail_mail_received_total of {}",
                h.instance
            ));
        }
    }
    // Without the name filter the site server would send its recorded series: the filter
    // is what keeps them from arriving twice.
    if !recorded
        .iter()
        .all(|(r, _)| unfiltered.iter().any(|(n, i)| n == r && i == HOSTS[0].0))
    {
        failures.push("the site server's /federate{job=\"xmail\"} lacks recorded series".into());
    }
    for (name, keeps_log) in &recorded {
        let by = if *keeps_log {
            "instance, log"
        } else {
            "instance"
        };
        for (server_name, server) in [("site", &site), ("global", &global)] {
            let q = format!("count by ({by}) ({{__name__=\"{name}\"}})");
            let counts = server.query(&q).unwrap_or_default();
            let hosts_seen: BTreeSet<&str> = counts
                .iter()
                .filter_map(|s| s["metric"]["instance"].as_str())
                .collect();
            if hosts_seen != instances.iter().copied().collect() {
                failures.push(format!("{server_name}: {name}: hosts {hosts_seen:?}"));
            }
            for s in &counts {
                if sample_value(s) != Some(1.0) {
                    failures.push(format!("{server_name}: {name}: {s}: more than one series"));
                }
            }
            // The rule's own labels only: no `exported_*` from a scrape, nothing extra.
            let allowed: &[&str] = if *keeps_log {
                &["__name__", "job", "instance", "log"]
            } else {
                &["__name__", "job", "instance"]
            };
            for s in server
                .query(&format!("{{__name__=\"{name}\"}}"))
                .unwrap_or_default()
            {
                let labels = s["metric"].as_object().unwrap();
                if labels.keys().any(|k| !allowed.contains(&k.as_str())) || labels["job"] != "xmail"
                {
                    failures.push(format!("{server_name}: {name}: labels {labels:?}"));
                }
            }
        }
    }
    // The brief form of the same: at most one series per recorded name and host (and log).
    match global.query(r#"count by (__name__, instance, log) ({__name__=~".+:.+"}) > 1"#) {
        Ok(r) if r.is_empty() => {}
        other => failures.push(format!("global: recorded series twice: {other:?}")),
    }
    match global.query(r#"count({exported_job=~".+"} or {exported_instance=~".+"})"#) {
        Ok(r) if r.is_empty() => {}
        other => failures.push(format!("global: exported_* labels: {other:?}")),
    }
    // The federation scrape itself: nothing dropped as duplicate, out of order or bounds.
    let own = http10_get(global.addr, "/metrics")
        .expect("global /metrics")
        .1;
    for family in [
        "prometheus_target_scrapes_sample_duplicate_timestamp_total",
        "prometheus_target_scrapes_sample_out_of_order_total",
        "prometheus_target_scrapes_sample_out_of_bounds_total",
        "prometheus_rule_evaluation_failures_total",
    ] {
        let sum: f64 = own
            .lines()
            .filter(|l| l.starts_with(family))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if sum != 0.0 || !own.contains(family) {
            failures.push(format!("global: {family} = {sum}"));
        }
    }
    for (server_name, server) in [("site", &site), ("global", &global)] {
        let body = server.api("/api/v1/rules").expect("rules");
        let mut n = 0;
        for g in body["data"]["groups"].as_array().into_iter().flatten() {
            for r in g["rules"].as_array().into_iter().flatten() {
                n += 1;
                if r["health"] != "ok" {
                    failures.push(format!(
                        "{server_name}: rule {}: {} {}",
                        r["name"], r["health"], r["lastError"]
                    ));
                }
            }
        }
        if n < recorded.len() + 12 {
            failures.push(format!("{server_name}: only {n} rules loaded"));
        }
    }

    // --- (4) Headline stats per host: global = site = report -------------------------------
    for h in &hosts {
        // The newest sample of the host on the global server, which the site server has too:
        // `increase()` from the counters' 0 to there, without extrapolation.
        let at = global.scalar(&format!(
            r#"max(timestamp(up{{job="xmail", instance="{}"}}))"#,
            h.instance
        ));
        let range = (at - range_start).ceil() as u64;
        let vars = GrafanaVars::with_instances(&[h.instance], range);
        for (title, key) in HEADLINES {
            let want = total(&reports[h.instance], key);
            let p = panels
                .iter()
                .find(|p| p["type"] == "stat" && p["title"] == *title)
                .unwrap_or_else(|| panic!("overview: no stat {title:?}"));
            let q = vars.interpolate(p["targets"][0]["expr"].as_str().unwrap());
            for (server_name, server) in [("site", &site), ("global", &global)] {
                let got = server
                    .query_at(&q, at)
                    .ok()
                    .and_then(|r| r.first().and_then(sample_value));
                if got != Some(want) {
                    failures.push(format!(
                        "{server_name}: {}: {title} = {got:?}, report = {want}\n    {q} @ {at}",
                        h.instance
                    ));
                }
            }
        }
    }

    // --- Every dashboard query works on the federated data --------------------------------
    let mut checked = 0;
    for d in load_dashboards() {
        for (at, expr) in dashboard_queries(&d.json) {
            let q = all.interpolate(&expr);
            checked += 1;
            let on_site = site.query(&q);
            match global.query(&q) {
                Err(e) => failures.push(format!("global: {}: {at}: {e}\n    {q}", d.file)),
                Ok(r) if r.is_empty() && on_site.is_ok_and(|s| !s.is_empty()) => {
                    failures.push(format!(
                        "global: {}: {at}: no data, the site server has some\n    {q}",
                        d.file
                    ))
                }
                Ok(_) => {}
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} checks failed:\n{}\n\n{}",
        failures.len(),
        failures.join("\n"),
        ctx.logs()
    );
    eprintln!(
        "fleet: 3 hosts, {} recorded series names, {checked} dashboard queries on the \
         federated server, in {:.1?}",
        recorded.len(),
        started.elapsed()
    );
    assert!(
        started.elapsed() < TEST_BUDGET,
        "took {:.1?}, budget {TEST_BUDGET:?}",
        started.elapsed()
    );
}

/// Appends the host's [`Traffic`] to its (empty) log directories, as XMail's new files.
fn add_traffic(h: &Host, samples: &Path) {
    let copy = |from: &Path, to: &Path| {
        crate::util::append(to, &std::fs::read(from).unwrap());
    };
    let xmail_files: Vec<PathBuf> = match h.traffic {
        Traffic::Subset => [
            "smtp-200604100000",
            "smail-200704170000",
            "pop3-202611270000",
        ]
        .iter()
        .map(|f| samples.join("xmail").join(f))
        .collect(),
        Traffic::AllSamples | Traffic::SamplesAndMore => {
            let mut v: Vec<PathBuf> = std::fs::read_dir(samples.join("xmail"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            v.sort();
            v
        }
    };
    for f in &xmail_files {
        copy(f, &h.logs.xmail.join(f.file_name().unwrap()));
    }
    if matches!(h.traffic, Traffic::Subset) {
        return;
    }
    for e in std::fs::read_dir(samples.join("webmail")).unwrap() {
        let f = e.unwrap().path();
        copy(&f, &h.logs.webmail.join(f.file_name().unwrap()));
    }
    if matches!(h.traffic, Traffic::SamplesAndMore) {
        let mut smtp = Vec::new();
        for i in 0..EXTRA_RECEIVED {
            let time = format!("2026-11-28 10:{i:02}:00");
            smtp.extend(smtp_line(
                "192.0.2.7",
                &time,
                &format!("M{i}"),
                "RECV=OK",
                "",
                900,
            ));
        }
        for i in 0..EXTRA_REFUSED {
            let time = format!("2026-11-28 11:{i:02}:00");
            smtp.extend(smtp_line(
                "192.0.2.8",
                &time,
                &format!("R{i}"),
                "RCPT=EAVAIL",
                "",
                0,
            ));
        }
        h.logs.append("smtp-202611280000", &smtp);
        let mut smail = String::new();
        for i in 0..EXTRA_DELIVERED {
            smail.push_str(&format!(
                "\"example.co.kr\"\t\"17957300{i:02}.7f3a9c1fb700.1f4c.3a10.mail\"\t\"M{i}\"\t\
                 \"a@example.net\"\t\"kim@example.co.kr\"\t\"LOCAL\"\t\"kim@example.co.kr\"\t\
                 \"2026-11-28 12:{i:02}:00\"\t\"\"\n"
            ));
        }
        h.logs.append("smail-202611280000", smail.as_bytes());
    }
}

/// `report --format json` totals over a host's two log directories.
fn report_totals(logs: &TempLogs) -> Value {
    let (ok, out, err) = crate::util::run_exporter(&[
        "report",
        "--format",
        "json",
        logs.xmail.to_str().unwrap(),
        logs.webmail.to_str().unwrap(),
    ]);
    assert!(ok, "report failed: {err}");
    serde_json::from_str::<Value>(&out).unwrap()["totals"].clone()
}

fn total(totals: &Value, key: &str) -> f64 {
    totals[key]
        .as_u64()
        .unwrap_or_else(|| panic!("report totals.{key}: {totals}")) as f64
}

/// The instances for which `promql` returns a sample.
fn per_instance(server: &Prometheus, promql: &str) -> BTreeSet<String> {
    server
        .query(promql)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s["metric"]["instance"].as_str().map(String::from))
        .collect()
}

/// The scrape job `job_name` of `deploy/prometheus/<file>`, changed by `edit` and without
/// its own intervals (the test servers' 1 s apply), as the YAML of `scrape_configs:`.
fn example_job(file: &str, job_name: &str, edit: impl FnOnce(&mut serde_yaml_ng::Value)) -> String {
    let mut job = example_job_value(file, job_name);
    let map = job.as_mapping_mut().unwrap();
    map.remove("scrape_interval");
    map.remove("scrape_timeout");
    edit(&mut job);
    let text = serde_yaml_ng::to_string(&serde_yaml_ng::Value::Sequence(vec![job])).unwrap();
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn example_job_value(file: &str, job_name: &str) -> serde_yaml_ng::Value {
    let path = root().join("deploy/prometheus").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    doc["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|j| j["job_name"].as_str() == Some(job_name))
        .unwrap_or_else(|| panic!("{}: no job {job_name}", path.display()))
        .clone()
}

/// The one `match[]` selector of a federation job.
fn example_match(file: &str, job_name: &str) -> String {
    let job = example_job_value(file, job_name);
    assert_eq!(
        job["honor_labels"].as_bool(),
        Some(true),
        "{file}: honor_labels"
    );
    let m = job["params"]["match[]"].as_sequence().unwrap();
    assert_eq!(m.len(), 1, "{file}: one match[] selector");
    m[0].as_str().unwrap().to_string()
}

fn yaml_seq(items: &[&str]) -> serde_yaml_ng::Value {
    serde_yaml_ng::Value::Sequence(
        items
            .iter()
            .map(|s| serde_yaml_ng::Value::String(s.to_string()))
            .collect(),
    )
}

/// (metric name, instance) of what `/federate?match[]=<selector>` sends.
fn federate_names(server: &Prometheus, selector: &str) -> BTreeSet<(String, String)> {
    let (status, body) = http10_get(
        server.addr,
        &format!("/federate?match[]={}", percent_encode(selector)),
    )
    .expect("GET /federate");
    assert_eq!(status, 200, "/federate: {body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let name = l.split(['{', ' ']).next().unwrap().to_string();
            let instance = l
                .split("instance=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string();
            (name, instance)
        })
        .collect()
}

/// The records of rules.yml: (name, whether it keeps the `log` label).
fn recording_rules() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(root().join("deploy/prometheus/rules.yml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut out = Vec::new();
    for g in doc["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            if let (Some(name), Some(expr)) = (r["record"].as_str(), r["expr"].as_str()) {
                let keeps_log = expr
                    .split_once(" by (")
                    .is_some_and(|(_, rest)| rest.split(')').next().unwrap().contains("log"));
                out.push((name.to_string(), keeps_log));
            }
        }
    }
    out
}

/// The processes of the test, for waits and failure messages.
struct Ctx<'a> {
    hosts: &'a [Host],
    servers: Vec<(&'static str, &'a Prometheus)>,
}

impl Ctx<'_> {
    fn wait_until(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let limit = Duration::from_secs(30);
        let deadline = Instant::now() + limit;
        while !cond() {
            if Instant::now() > deadline {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for (name, p) in &self.servers {
            out.push_str(&format!(
                "--- {name} prometheus log (tail) ---\n{}\n",
                tail(&p.log())
            ));
        }
        for h in self.hosts {
            out.push_str(&format!(
                "--- exporter {} log (tail) ---\n{}\n",
                h.instance,
                tail(&h.exporter.log())
            ));
        }
        out
    }
}
