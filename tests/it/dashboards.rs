//! Structure checks of the Grafana dashboards (`dashboards/*.json`) and the deploy files.
//!
//! What Grafana itself would not catch until someone opens the dashboard: duplicate panel
//! ids, panels without or with overlapping `gridPos`, a panel or query bound to a concrete
//! data source instead of the `datasource` variable (breaks file provisioning and every
//! other Grafana), missing units, rates not over `$__rate_interval`, selectors that ignore
//! the `job`/`instance` variables, rejection statuses without a human title. Whether the
//! queries run and return data is `prometheus_e2e`'s job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The shipped dashboards and their uids. A uid is part of every link and bookmark to a
/// dashboard: changing one is a breaking change, so it is pinned here.
pub const DASHBOARDS: &[(&str, &str)] = &[
    ("xmail-overview.json", "xmail-overview"),
    ("xmail-exporter-health.json", "xmail-exporter-health"),
];

/// Every SMTP status that is a rejection or failure, from the metrics contract.
const REJECTION_STATUSES: &[&str] = &[
    "RCPT=EAVAIL",
    "RCPT=ERELAY",
    "RCPT=ESYNTAX",
    "RCPT=ENBR",
    "RCPT=EDSBL",
    "RCPT=EFULL",
    "RCPT=EACCESS",
    "RCPT=EFILTER",
    "PREDATA=EFILTER",
    "POSTDATA=EFILTER",
    "DATA=EFILTER",
    "SNDRIP=EIPBAN",
    "SNDRIP=EIPSPAM",
    "SNDRIP=EIPMAP",
    "SNDRIP=ERDNS",
    "SNDR=EEMPTY",
    "SNDR=ESYNTAX",
    "SNDR=ENODNS",
    "SNDR=ESPAM",
    "SIZE=EBIG",
    "SMTP=EERRS",
    "SMTP=ESSL",
    "AUTH=EFAIL",
    "VRFY=EACCESS",
    "ETRN=EACCESS",
    "CONN=EFILTER",
    "other",
];

/// The oldest Grafana the dashboards are written for (`__requires`), and its schema.
const MIN_GRAFANA: &str = "10.4.0";
const SCHEMA_VERSION: u64 = 39;

fn repo_root() -> PathBuf {
    crate::util::root()
}

/// A parsed dashboard and its file name.
pub struct Dashboard {
    pub file: String,
    pub json: Value,
}

pub fn load_dashboards() -> Vec<Dashboard> {
    DASHBOARDS
        .iter()
        .map(|(file, _)| {
            let path = repo_root().join("dashboards").join(file);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()));
            Dashboard {
                file: file.to_string(),
                json,
            }
        })
        .collect()
}

/// Every panel, including those nested in collapsed rows.
pub fn all_panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("panels array") {
        out.push(p);
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested.iter());
        }
    }
    out
}

fn is_row(p: &Value) -> bool {
    p["type"] == "row"
}

fn title(p: &Value) -> String {
    format!("panel {} {:?}", p["id"], p["title"].as_str().unwrap_or(""))
}

fn uses_datasource_variable(ds: &Value) -> bool {
    matches!(ds["uid"].as_str(), Some("${datasource}" | "$datasource"))
        && ds["type"] == "prometheus"
}

#[test]
fn dashboards_directory_holds_exactly_the_pinned_dashboards() {
    let mut on_disk: Vec<String> = std::fs::read_dir(repo_root().join("dashboards"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut pinned: Vec<String> = DASHBOARDS.iter().map(|(f, _)| f.to_string()).collect();
    pinned.sort();
    assert_eq!(
        on_disk, pinned,
        "add a new dashboard to DASHBOARDS (with its uid) in tests/it/dashboards.rs"
    );
}

#[test]
fn stable_uids_tags_and_metadata() {
    for d in load_dashboards() {
        let j = &d.json;
        let uid = DASHBOARDS.iter().find(|(f, _)| *f == d.file).unwrap().1;
        assert_eq!(j["uid"], uid, "{}: uid changed", d.file);
        assert!(
            j["id"].is_null(),
            "{}: id must be null (Grafana assigns it)",
            d.file
        );
        assert!(
            j["title"].as_str().is_some_and(|t| t.starts_with("XMail")),
            "{}: title",
            d.file
        );
        let tags: Vec<&str> = j["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            tags.contains(&"xmail"),
            "{}: tag `xmail` missing (dashboard links use it)",
            d.file
        );
        assert_eq!(
            j["schemaVersion"], SCHEMA_VERSION,
            "{}: schemaVersion",
            d.file
        );
        let grafana = j["__requires"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "grafana")
            .unwrap_or_else(|| panic!("{}: __requires names no Grafana version", d.file));
        assert_eq!(grafana["version"], MIN_GRAFANA, "{}", d.file);
        assert!(
            j.get("__inputs").is_none(),
            "{}: __inputs breaks file provisioning; use the datasource variable",
            d.file
        );
    }
}

#[test]
fn panel_ids_are_unique_and_every_panel_has_a_grid_position() {
    for d in load_dashboards() {
        let mut ids = BTreeSet::new();
        let mut cells: Vec<(String, u64, u64, u64, u64)> = Vec::new();
        for p in all_panels(&d.json) {
            let id = p["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{}: {} has no numeric id", d.file, title(p)));
            assert!(ids.insert(id), "{}: panel id {id} used twice", d.file);
            let g = &p["gridPos"];
            let n = |k: &str| {
                g[k].as_u64()
                    .unwrap_or_else(|| panic!("{}: {} gridPos.{k} missing", d.file, title(p)))
            };
            let (x, y, w, h) = (n("x"), n("y"), n("w"), n("h"));
            assert!(
                w > 0 && h > 0 && x + w <= 24,
                "{}: {} gridPos {g} outside the 24-column grid",
                d.file,
                title(p)
            );
            for (other, ox, oy, ow, oh) in &cells {
                let overlap = x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h;
                assert!(!overlap, "{}: {} overlaps {other}", d.file, title(p));
            }
            cells.push((title(p), x, y, w, h));
            assert!(
                p["title"].as_str().is_some_and(|t| !t.is_empty()),
                "{}: panel {id} has no title",
                d.file
            );
        }
    }
}

#[test]
fn datasource_variable_is_used_everywhere() {
    for d in load_dashboards() {
        let vars = d.json["templating"]["list"].as_array().unwrap();
        let ds = vars
            .iter()
            .find(|v| v["name"] == "datasource")
            .unwrap_or_else(|| panic!("{}: no `datasource` variable", d.file));
        assert_eq!(
            ds["type"], "datasource",
            "{}: the datasource variable must be of type datasource",
            d.file
        );
        assert_eq!(ds["query"], "prometheus", "{}", d.file);
        for v in vars.iter().filter(|v| v["type"] == "query") {
            assert!(
                uses_datasource_variable(&v["datasource"]),
                "{}: variable {} has a fixed data source",
                d.file,
                v["name"]
            );
        }
        for p in all_panels(&d.json).into_iter().filter(|p| !is_row(p)) {
            assert!(
                uses_datasource_variable(&p["datasource"]),
                "{}: {} has a fixed data source",
                d.file,
                title(p)
            );
            let targets = p["targets"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: {} has no targets", d.file, title(p)));
            assert!(!targets.is_empty(), "{}: {} has no query", d.file, title(p));
            for t in targets {
                assert!(
                    uses_datasource_variable(&t["datasource"]),
                    "{}: {} query {} has a fixed data source",
                    d.file,
                    title(p),
                    t["refId"]
                );
            }
        }
        for a in d.json["annotations"]["list"].as_array().unwrap() {
            let builtin = a["builtIn"] == 1 && a["datasource"]["uid"] == "-- Grafana --";
            assert!(
                builtin || uses_datasource_variable(&a["datasource"]),
                "{}: annotation {} has a fixed data source",
                d.file,
                a["name"]
            );
        }
    }
}

/// Walks the whole JSON: a data source may only be named through the variable (or be
/// Grafana's own annotation source), and `${DS_...}` import placeholders must not appear.
#[test]
fn no_hard_coded_datasource_anywhere() {
    fn walk(v: &Value, path: &str, file: &str) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let here = format!("{path}.{k}");
                    if k == "datasource" {
                        let ok = uses_datasource_variable(child) || child["uid"] == "-- Grafana --";
                        assert!(
                            ok,
                            "{file}: {here} = {child} is not the datasource variable"
                        );
                    }
                    walk(child, &here, file);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    walk(child, &format!("{path}[{i}]"), file);
                }
            }
            Value::String(s) => {
                assert!(
                    !s.contains("${DS_"),
                    "{file}: {path} uses an import placeholder: {s}"
                );
            }
            _ => {}
        }
    }
    for d in load_dashboards() {
        walk(&d.json, "", &d.file);
    }
}

#[test]
fn every_panel_has_a_unit() {
    for d in load_dashboards() {
        for p in all_panels(&d.json).into_iter().filter(|p| !is_row(p)) {
            let unit = p["fieldConfig"]["defaults"]["unit"].as_str().unwrap_or("");
            assert!(!unit.is_empty(), "{}: {} has no unit", d.file, title(p));
            if p["type"] == "heatmap" {
                let y = p["options"]["yAxis"]["unit"].as_str().unwrap_or("");
                assert!(!y.is_empty(), "{}: {} has no y-axis unit", d.file, title(p));
            }
        }
    }
}

/// Every PromQL expression of a dashboard: (where, expression).
pub fn dashboard_queries(dash: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in all_panels(dash).into_iter().filter(|p| !is_row(p)) {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                format!("{} query {}", title(p), t["refId"]),
                t["expr"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

/// The range selectors (`[...]`) of an expression.
fn ranges(expr: &str) -> Vec<&str> {
    expr.match_indices('[')
        .filter_map(|(i, _)| expr[i + 1..].split(']').next())
        .collect()
}

#[test]
fn rates_use_grafana_intervals_and_selectors_use_the_variables() {
    for d in load_dashboards() {
        for (at, expr) in dashboard_queries(&d.json) {
            assert!(!expr.trim().is_empty(), "{}: {at} is empty", d.file);
            for r in ranges(&expr) {
                assert!(
                    matches!(r, "$__rate_interval" | "$__range" | "$__interval"),
                    "{}: {at}: range [{r}] is fixed; use [$__rate_interval] (or [$__range] in stats)",
                    d.file
                );
            }
            // Every metric of the exporter's target is selected by the job/instance variables.
            let metric = metric_selectors(&expr);
            assert!(!metric.is_empty(), "{}: {at} reads no metric", d.file);
            for (name, selector) in metric {
                let sel = selector
                    .unwrap_or_else(|| panic!("{}: {at}: {name} has no label selector", d.file));
                assert!(
                    sel.contains(r#"job="$job""#) && sel.contains(r#"instance=~"$instance""#),
                    "{}: {at}: {name}{{{sel}}} ignores the job/instance variables",
                    d.file
                );
            }
        }
    }
}

/// Metric names (`xmail_*`, `process_*`, `up`) in an expression, with the text of the
/// `{...}` selector that follows each, if any.
pub fn metric_selectors(expr: &str) -> Vec<(String, Option<String>)> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if starts_word && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let word = &expr[start..i];
            let is_metric =
                word.starts_with("xmail_") || word.starts_with("process_") || word == "up";
            let in_string = expr[..start].matches('"').count() % 2 == 1;
            if is_metric && !in_string {
                let sel = (b.get(i) == Some(&b'{'))
                    .then(|| expr[i + 1..].split('}').next().unwrap_or("").to_string());
                out.push((word.to_string(), sel));
            }
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn job_and_instance_variables_chain_from_build_info() {
    for d in load_dashboards() {
        let vars: BTreeMap<&str, &Value> = d.json["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        let job = vars
            .get("job")
            .unwrap_or_else(|| panic!("{}: no job variable", d.file));
        let inst = vars
            .get("instance")
            .unwrap_or_else(|| panic!("{}: no instance variable", d.file));
        assert_eq!(
            job["query"]["query"], "label_values(xmail_exporter_build_info, job)",
            "{}",
            d.file
        );
        assert_eq!(
            inst["query"]["query"],
            r#"label_values(xmail_exporter_build_info{job="$job"}, instance)"#,
            "{}",
            d.file
        );
        assert_eq!(
            inst["multi"], true,
            "{}: instance should allow several servers",
            d.file
        );
        assert_eq!(inst["includeAll"], true, "{}", d.file);
        // The structured fields Grafana's variable editor reads must agree with the query.
        assert_eq!(job["query"]["label"], "job", "{}", d.file);
        assert_eq!(inst["query"]["label"], "instance", "{}", d.file);
        for v in [job, inst] {
            assert_eq!(
                v["query"]["qryType"], 1,
                "{}: label_values query type",
                d.file
            );
            assert_eq!(
                v["query"]["metric"], "xmail_exporter_build_info",
                "{}",
                d.file
            );
            assert_eq!(v["definition"], v["query"]["query"], "{}", d.file);
        }
    }
}

#[test]
fn every_rejection_status_has_a_human_title() {
    let overview = load_dashboards()
        .into_iter()
        .find(|d| d.file == "xmail-overview.json")
        .unwrap();
    let status_panels: Vec<&Value> = all_panels(&overview.json)
        .into_iter()
        .filter(|p| {
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["legendFormat"] == "{{status}}")
        })
        .collect();
    assert!(
        status_panels.len() >= 2,
        "the rejections time series and top-reasons bar gauge"
    );
    for p in status_panels {
        let titles: BTreeMap<&str, &str> = p["fieldConfig"]["overrides"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["matcher"]["id"] == "byName")
            .filter_map(|o| {
                let name = o["matcher"]["options"].as_str()?;
                let dn = o["properties"]
                    .as_array()?
                    .iter()
                    .find(|p| p["id"] == "displayName")?;
                Some((name, dn["value"].as_str()?))
            })
            .collect();
        for status in REJECTION_STATUSES {
            let t = titles
                .get(status)
                .unwrap_or_else(|| panic!("{}: no human title for {status}", title(p)));
            assert!(
                !t.is_empty() && *t != *status,
                "{}: title of {status}",
                title(p)
            );
        }
    }
}

/// Every JSON and YAML file under `dashboards/` and `deploy/` parses (scripts/check-rules.sh
/// checks the same with Python; this keeps `cargo test` self-sufficient).
#[test]
fn deploy_files_parse() {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(&repo_root().join("deploy"), &mut all);
    files(&repo_root().join("dashboards"), &mut all);
    let mut checked = 0;
    for p in all {
        let text = || std::fs::read_to_string(&p).unwrap();
        match p.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                serde_json::from_str::<Value>(&text())
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            Some("yml" | "yaml") => {
                serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text())
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            _ => continue,
        }
        checked += 1;
    }
    assert!(
        checked >= 9,
        "expected the dashboards and deploy YAML files, found {checked}"
    );
}

/// The Grafana provisioning files, the compose file and the dashboards agree on paths.
#[test]
fn compose_mounts_what_grafana_provisioning_reads() {
    let root = repo_root();
    let read = |p: &str| -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(&std::fs::read_to_string(root.join(p)).unwrap()).unwrap()
    };
    let provider = read("deploy/grafana/provisioning/dashboards/xmail.yml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let compose = read("deploy/docker-compose.yml");
    let mounts: Vec<&str> = compose["services"]["grafana"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        mounts
            .iter()
            .any(|m| *m == format!("../dashboards:{path}:ro")),
        "compose must mount ../dashboards at the provider path {path}: {mounts:?}"
    );
    let home =
        compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
            .as_str()
            .unwrap();
    assert_eq!(home, format!("{path}/xmail-overview.json"));
    assert_eq!(provider["providers"][0]["type"], "file");
}
