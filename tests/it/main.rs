//! Integration tests: one crate, one module per area.

/// Helpers: temporary log dirs, the binary as a child process, HTTP, scrape parsing.
mod util;

/// Every line of the bundled samples (both format variants) parses, with exact counts.
mod samples;

/// `report` over examples/logs against a golden file.
mod report;

/// `report --format text|json`: the pflogsumm-style summary, golden files and exact counts.
mod report_summary;

/// `report --since/--until`: the summary of a time range, refused bounds, and the library
/// function that gives the same JSON.
mod report_range;

/// `report --threads N`: the output of N threads, files cut in small pieces, is the output
/// of one, byte for byte.
mod report_threads;

/// The running exporter: appends, partial lines, CRLF, rotation, truncation, HTTP endpoints.
mod serve;

/// Grafana dashboard JSON structure and deploy files: ids, grid, datasource variable, units.
mod dashboards;

/// A real Prometheus scrapes the exporter; every dashboard query and alert rule must work.
mod prometheus_e2e;

/// The throw-away Prometheus server of the end-to-end tests: start, query API, Grafana variables.
mod prom;

/// Three exporters (three mail hosts), one Prometheus scraping them, a second federating it.
mod fleet;

/// Exactly-once counting across SIGKILL restarts, rotations and truncations.
mod torture;

/// `--web.config.file`: TLS, client certificates, basic auth, reload, rate limit, timeouts.
mod web;

/// The mail desk (`--web.enable-console`): access, API, hostile text.
mod console;

/// `--web.config.file` changes while running (fail-closed reload) and refused settings.
mod web_reload;

/// Bad input: binary garbage, NUL bytes, a 100 MiB line, vanishing or unreadable logs,
/// symlinked directories, and the label cardinality caps.
mod bad_input;

/// `trace`: the story of a message, by ID, address or spool file, in English and Korean.
mod trace;

/// Property tests for every parser and the line splitter; replays the fuzz corpus.
mod props;

/// The tailer against a model of XMail's writer: rotations, late lines, lines in pieces,
/// truncation and restarts; every line exactly once.
mod tail_model;

/// Windows only: drive letters, either separator, and the `C:\MailRoot` defaults.
mod windows;
