//! xmail_exporter: XMail SMTP/SMAIL and Nmail webmail logs as Prometheus metrics.
//!
//! # Layout
//! - [`parse`]: pure parsers, bytes of one line in, a typed event out ([`parse::status`] is
//!   the status table: each SMTP status and its refusal stage);
//! - [`meaning`]: the one place an event becomes received, delivered, bounced or refused,
//!   read by the metrics, `report` and `trace` alike;
//! - [`read`]: what every reading of the logs shares: which files are logs, how one is
//!   opened, where a line ends, the [`read::Sink`] lines go to, and reading a file once
//!   (`report`, `trace`);
//! - [`tail`]: follows log directories through XMail's time-named files, truncations and
//!   late lines, with checkpoints that match the served counters;
//! - [`metrics`]: every exported metric, declared once, and the [`metrics::Recorder`] sink
//!   that parses lines and updates them;
//! - [`web`]: the hyper server for `/metrics`, `/`, `/-/healthy` and `/-/ready`, with its
//!   connection limits, `--web.config.file` (TLS, basic auth, reload) and the mail desk
//!   ([`web::console`]);
//! - [`rate`]: the one rate limiter (requests, repeated log messages);
//! - [`recent`]: the most recent refusals, kept for the mail desk;
//! - [`cli`], [`config`]: flags and the YAML file, validated into [`config::Settings`];
//! - [`summary`]: the accumulator behind `report` (totals, tables, top lists), its JSON
//!   contract and its text tables, and [`summary::summarize`], the same JSON for log
//!   directories and a time range without the command;
//! - [`trace`]: the story of the messages a query names, line by line with sentences and
//!   what is missing;
//! - [`cmd`]: one function per subcommand (`serve`, `report`, `trace`);
//! - [`explain`]: every word a person reads: one plain sentence per log line and the
//!   summary's headings, in English or Korean;
//! - [`spool`]: counts XMail's spool queues (what the logs cannot show: retries, frozen);
//! - [`logging`]: logfmt or JSON logs on stderr.

#![deny(missing_docs)]

pub mod cli;
pub mod cmd;
pub mod config;
pub mod explain;
pub mod logging;
pub mod meaning;
pub mod metrics;
pub mod parse;
pub mod rate;
pub mod read;
pub mod recent;
pub mod spool;
pub mod summary;
pub mod tail;
pub mod trace;
pub mod web;

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision built from, or `unknown`.
pub const REVISION: &str = env!("XMAIL_EXPORTER_REVISION");
/// The compiler version, e.g. `1.95.0`.
pub const RUSTC_VERSION: &str = env!("XMAIL_EXPORTER_RUSTC_VERSION");
