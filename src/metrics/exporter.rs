//! The exporter's own metrics: how much of each log was read, how far behind it is, and what
//! the tailer ran into. Resolved once per log kind.
//!
//! `xmail_exporter_log_directory_exists` is the exception: a log's series appears when the
//! tailer first looked at its directory (so it is never a 0 that only means "not looked yet",
//! and `report`, which follows no directory, has none).

use std::sync::OnceLock;

use prometheus::local::LocalIntCounter;
use prometheus::{Gauge, GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use super::family::counter_vec;
use crate::parse::LogKind;

/// The newest event time per log; the state file keeps it across restarts
/// ([`crate::tail::checkpoint`]).
pub const LAST_EVENT_TIMESTAMP: &str = "xmail_exporter_log_last_event_timestamp_seconds";

/// Pre-resolved exporter metric children, indexed by [`LogKind::index`].
pub struct ExporterMetrics {
    /// Lines that parsed into an event.
    pub parsed: [LocalIntCounter; LogKind::COUNT],
    /// Lines that did not.
    pub malformed: [IntCounter; LogKind::COUNT],
    /// Bytes of complete lines consumed.
    pub read_bytes: [IntCounter; LogKind::COUNT],
    /// Newest event time seen, Unix seconds.
    pub last_event: [Gauge; LogKind::COUNT],
    /// Bytes written to followed files but not yet consumed.
    pub lag: [IntGauge; LogKind::COUNT],
    /// New log files that appeared after start-up, or files replaced in place.
    pub rotations: [IntCounter; LogKind::COUNT],
    /// Files found shorter than the read offset.
    pub truncations: [IntCounter; LogKind::COUNT],
    /// Failed reads of a file or a directory that exists.
    pub read_errors: [IntCounter; LogKind::COUNT],
    /// Whether the log's directory exists and can be listed; registered at the first look.
    dir_exists: [OnceLock<IntGauge>; LogKind::COUNT],
    /// `xmail_exporter_log_files`, registered with its first value.
    files: [OnceLock<IntGauge>; LogKind::COUNT],
    registry: Registry,
}

fn per_log<T>(f: impl Fn(&str) -> T) -> [T; LogKind::COUNT] {
    LogKind::ALL.map(|k| f(k.as_str()))
}

impl ExporterMetrics {
    /// Registers the exporter metrics, every log kind at 0.
    pub fn new(registry: &Registry) -> prometheus::Result<ExporterMetrics> {
        let lines = counter_vec(
            registry,
            "xmail_exporter_log_lines_total",
            "Log lines read, by log and result (parsed or malformed).",
            &["log", "result"],
        )?;
        let bytes = counter_vec(
            registry,
            "xmail_exporter_log_read_bytes_total",
            "Bytes of complete log lines read, by log.",
            &["log"],
        )?;
        let last = GaugeVec::new(
            Opts::new(
                LAST_EVENT_TIMESTAMP,
                "Unix time of the newest event read from each log (0 until one is read).",
            ),
            &["log"],
        )?;
        registry.register(Box::new(last.clone()))?;
        let lag = IntGaugeVec::new(
            Opts::new(
                "xmail_exporter_log_lag_bytes",
                "Bytes written to the followed log files but not yet read, by log.",
            ),
            &["log"],
        )?;
        registry.register(Box::new(lag.clone()))?;
        let rotations = counter_vec(
            registry,
            "xmail_exporter_log_rotations_total",
            "New log files picked up after start-up (XMail starts a time-named file per period), by log.",
            &["log"],
        )?;
        let truncations = counter_vec(
            registry,
            "xmail_exporter_log_truncations_total",
            "Log files found shorter than the read offset and re-read from the start, by log.",
            &["log"],
        )?;
        let read_errors = counter_vec(
            registry,
            "xmail_exporter_log_read_errors_total",
            "Failed attempts to read a log file or list a log directory, by log.",
            &["log"],
        )?;
        Ok(ExporterMetrics {
            parsed: per_log(|l| lines.with_label_values(&[l, "parsed"]).local()),
            malformed: per_log(|l| lines.with_label_values(&[l, "malformed"])),
            read_bytes: per_log(|l| bytes.with_label_values(&[l])),
            last_event: per_log(|l| last.with_label_values(&[l])),
            lag: per_log(|l| lag.with_label_values(&[l])),
            rotations: per_log(|l| rotations.with_label_values(&[l])),
            truncations: per_log(|l| truncations.with_label_values(&[l])),
            read_errors: per_log(|l| read_errors.with_label_values(&[l])),
            dir_exists: std::array::from_fn(|_| OnceLock::new()),
            files: std::array::from_fn(|_| OnceLock::new()),
            registry: registry.clone(),
        })
    }

    /// Sets `xmail_exporter_log_directory_exists{log}`: 1 when the directory of `kind` exists
    /// and can be listed, 0 when it does not exist (or cannot be listed: the read errors then
    /// say so). The first call for a log registers its series with the value already set.
    pub fn set_dir_exists(&self, kind: LogKind, exists: bool) {
        self.per_log_gauge(
            &self.dir_exists,
            "xmail_exporter_log_directory_exists",
            "1 when the log's directory exists and can be listed, 0 when it does not (e.g. no Nmail on this host: log=\"webmail\"); absent until the directory was first looked at.",
            kind,
            i64::from(exists),
        );
    }

    /// Sets `xmail_exporter_log_files{log}`: how many files of `kind` its directory holds
    /// (followed or read to their end). 0 means XMail does not write that log: the CTRL,
    /// PSYNC, filters, LMAIL and FINGER logs need `-Cl`, `-Yl`, `-Qg`, `-Ll`, `-Fl`.
    pub fn set_files(&self, kind: LogKind, files: usize) {
        self.per_log_gauge(
            &self.files,
            "xmail_exporter_log_files",
            "Files of the log in its directory (0: XMail does not write it; the ctrl, psync, filters, lmail and finger logs are off unless XMail runs with -Cl, -Yl, -Qg, -Ll, -Fl); absent until the directory was first listed.",
            kind,
            i64::try_from(files).unwrap_or(i64::MAX),
        );
    }

    /// A gauge with a constant `log` label, registered at its first value.
    fn per_log_gauge(
        &self,
        slots: &[OnceLock<IntGauge>; LogKind::COUNT],
        name: &str,
        help: &str,
        kind: LogKind,
        v: i64,
    ) {
        if let Some(g) = slots[kind.index()].get() {
            g.set(v);
            return;
        }
        let made = IntGauge::with_opts(Opts::new(name, help).const_label("log", kind.as_str()));
        match made {
            Ok(g) => {
                g.set(v);
                match self.registry.register(Box::new(g.clone())) {
                    Ok(()) => {
                        let _ = slots[kind.index()].set(g);
                    }
                    Err(e) => tracing::error!(error = %e, "cannot register a metric"),
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot create a metric"),
        }
    }
}

/// Registers `xmail_exporter_build_info` (always 1).
pub fn register_build_info(registry: &Registry) -> prometheus::Result<()> {
    let g = IntGaugeVec::new(
        Opts::new(
            "xmail_exporter_build_info",
            "A metric with a constant value of 1, labelled with the exporter's version, git revision and compiler.",
        ),
        &["version", "revision", "rustc_version"],
    )?;
    registry.register(Box::new(g.clone()))?;
    g.with_label_values(&[crate::VERSION, crate::REVISION, crate::RUSTC_VERSION])
        .set(1);
    Ok(())
}
