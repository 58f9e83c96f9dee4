//! Command-line flags, as close to what the user typed as possible; [`crate::config`] turns
//! them and the config file into validated settings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// XMail's log directory on this platform.
#[cfg(windows)]
pub const DEFAULT_XMAIL_LOG_DIR: &str = r"C:\MailRoot\logs";
/// XMail's log directory on this platform.
#[cfg(not(windows))]
pub const DEFAULT_XMAIL_LOG_DIR: &str = "/var/MailRoot/logs";

/// XMail's spool directory on this platform.
#[cfg(windows)]
pub const DEFAULT_XMAIL_SPOOL_DIR: &str = r"C:\MailRoot\spool";
/// XMail's spool directory on this platform.
#[cfg(not(windows))]
pub const DEFAULT_XMAIL_SPOOL_DIR: &str = "/var/MailRoot/spool";

/// Nmail's error log directory.
pub const DEFAULT_WEBMAIL_LOG_DIR: &str = "/home/nmail2/weblogs";

/// The default listen address (10587: free in the exporter port list and on mail hosts).
pub const DEFAULT_LISTEN_ADDRESS: &str = ":10587";

const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("XMAIL_EXPORTER_REVISION"),
    ", rustc ",
    env!("XMAIL_EXPORTER_RUSTC_VERSION"),
    ")"
);

/// Prometheus exporter for XMail SMTP/SMAIL and Nmail webmail logs.
///
/// Without a subcommand it follows the log directories and serves metrics over HTTP.
#[derive(Debug, Parser)]
#[command(name = "xmail_exporter", version = LONG_VERSION, about, long_about = None)]
pub struct Cli {
    /// A subcommand; serving metrics when none is given.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Flags of the default (serving) mode.
    #[command(flatten)]
    pub serve: ServeArgs,

    /// YAML config file: time zone, per-domain counters (domains), the delivery delay join
    /// (delivery_delay), webmail classification rules and the mail desk's users (console).
    #[arg(long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Only log messages at or above this level.
    #[arg(long = "log.level", global = true, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Output format of log messages.
    #[arg(long = "log.format", global = true, value_enum, default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,

    /// Append log messages to this file instead of writing them on stderr (the Windows
    /// service's default: %ProgramData%\xmail_exporter\xmail_exporter.log). A file of 10 MiB
    /// or more at start is moved to FILE.old first.
    #[arg(long = "log.file", global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read log files once, from start to end, print the metrics and exit.
    Report(ReportArgs),
    /// Follow messages through the SMTP and SMAIL logs: by message ID (S293D9), address or
    /// spool file name.
    Trace(TraceArgs),
    /// Run as a Windows service: install it, uninstall it, or (what the Service Control
    /// Manager starts) run it.
    #[cfg(windows)]
    Service(ServiceArgs),
}

/// Flags of `service`.
#[cfg(windows)]
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ServiceAction,
}

/// `service` subcommands.
#[cfg(windows)]
#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Register the service xmail_exporter (automatic start, account
    /// NT SERVICE\xmail_exporter) to run this program with the serving flags given after
    /// `--`, e.g. `service install -- --xmail.log-dir=C:\MailRoot\logs`. Run as
    /// administrator.
    Install {
        /// Serving flags (and --config, --log.*) the service runs with; full paths only.
        #[arg(last = true, value_name = "FLAGS")]
        flags: Vec<std::ffi::OsString>,
    },
    /// Stop the service if it runs and remove it. Run as administrator.
    Uninstall,
    /// What the Service Control Manager starts: serve until the service is stopped. Not for
    /// a console.
    Run {
        /// Flags of the serving mode.
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
}

/// Flags of `trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// A message ID (S293D9, X293E4), an e-mail address, or a spool file name.
    #[arg(value_name = "QUERY")]
    pub query: String,

    /// XMail log directory (smtp-* and smail-* files).
    #[arg(long = "xmail.log-dir", value_name = "DIR", default_value = DEFAULT_XMAIL_LOG_DIR)]
    pub xmail_log_dir: PathBuf,

    /// Only lines at or after this local time: YYYY-MM-DD, "YYYY-MM-DD HH:MM" or
    /// "YYYY-MM-DD HH:MM:SS".
    #[arg(long = "since", value_name = "TIME")]
    pub since: Option<String>,

    /// Only lines at or before this local time: YYYY-MM-DD, "YYYY-MM-DD HH:MM" or
    /// "YYYY-MM-DD HH:MM:SS".
    #[arg(long = "until", value_name = "TIME")]
    pub until: Option<String>,

    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = TraceFormat::Text)]
    pub format: TraceFormat,

    /// Language of the explanations.
    #[arg(long = "lang", value_enum, default_value_t = crate::explain::Lang::En)]
    pub lang: crate::explain::Lang,
}

/// `trace` output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    /// One block per message, one line per log line with its explanation.
    Text,
    /// The same as a JSON array, for scripts.
    Json,
}

/// Flags of the serving mode.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// XMail log directory (smtp-* and smail-* files).
    #[arg(long = "xmail.log-dir", value_name = "DIR", default_value = DEFAULT_XMAIL_LOG_DIR)]
    pub xmail_log_dir: PathBuf,

    /// XMail spool directory, counted for queued, retried and frozen messages; "" to not
    /// count it.
    #[arg(long = "xmail.spool-dir", value_name = "DIR", default_value = DEFAULT_XMAIL_SPOOL_DIR, value_parser = path_or_empty)]
    pub spool_dir: PathBuf,

    /// How often to count the spool.
    #[arg(long = "xmail.spool-scan-interval", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub spool_scan_interval: Duration,

    /// A spool count that takes longer than this is abandoned and counted as an error.
    #[arg(long = "xmail.spool-scan-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub spool_scan_timeout: Duration,

    /// Nmail webmail log directory (error-YYYYMMDD.txt files); "" to not read webmail logs.
    #[arg(long = "webmail.log-dir", value_name = "DIR", default_value = DEFAULT_WEBMAIL_LOG_DIR, value_parser = path_or_empty)]
    pub webmail_log_dir: PathBuf,

    /// How often to look for changes when no filesystem event arrives (also the only way on
    /// NFS and other filesystems without notifications).
    #[arg(long = "tail.poll-interval", value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Read the files that exist at start-up from their beginning (default: only new lines).
    #[arg(long = "tail.from-beginning")]
    pub from_beginning: bool,

    /// How long an older log file is kept open after a newer one of its kind appears (for
    /// late lines). Only tests should change it.
    #[arg(long = "tail.drain-grace", value_name = "DURATION", default_value = "60s", value_parser = parse_duration, hide = true)]
    pub drain_grace: Duration,

    /// File that keeps, per log file, the offset up to which lines were counted in the last
    /// scrape served, so a restart neither loses nor double counts lines.
    #[arg(long = "tail.state-file", value_name = "FILE")]
    pub state_file: Option<PathBuf>,

    /// Address to listen on: host:port, or :port for every interface. Repeatable.
    #[arg(long = "web.listen-address", value_name = "ADDRESS", default_value = DEFAULT_LISTEN_ADDRESS)]
    pub listen_addresses: Vec<String>,

    /// Web config file (exporter-toolkit format): TLS, basic authentication, headers, rate
    /// limit. Re-read when it changes.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,

    /// Serve the mail desk at / (search a message by ID, address or spool file, today's
    /// summary, recent refusals) and its JSON API under /api/v1/. Only for the users listed
    /// under `console: users:` in --config, who log in with their basic_auth_users password
    /// from --web.config.file; over plain HTTP only from loopback addresses.
    #[arg(long = "web.enable-console")]
    pub enable_console: bool,

    /// How long a client may take to send its request headers. Only tests should change it.
    #[arg(long = "web.read-header-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, hide = true)]
    pub read_header_timeout: Duration,

    /// How long a response may wait for a client that does not read it before the connection
    /// is closed.
    #[arg(long = "web.write-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Log files or directories (searched recursively); the kind comes from each file name.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = ReportFormat::Prometheus)]
    pub format: ReportFormat,

    /// `text` and `json`: how many entries the top lists (senders, recipient domains,
    /// largest messages, ...) keep; 0 keeps every entry.
    #[arg(long = "top", value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// `text` and `json`: language of the headings and reason titles.
    #[arg(long = "lang", value_enum, default_value_t = crate::explain::Lang::En)]
    pub lang: crate::explain::Lang,

    /// `text` and `json`: only lines at or after this local time: YYYY-MM-DD,
    /// "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS".
    #[arg(long = "since", value_name = "TIME")]
    pub since: Option<String>,

    /// `text` and `json`: only lines at or before this local time: YYYY-MM-DD,
    /// "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS".
    #[arg(long = "until", value_name = "TIME")]
    pub until: Option<String>,

    /// Threads that parse the files; the output is the same as with 1. `text` and `json`
    /// read on N threads (large files in pieces); `prometheus` on two when N > 1 (the SMTP
    /// files on one, the others on the other). Default: the machine's cores.
    #[arg(
        long = "threads",
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub threads: usize,

    /// Bytes of a file one thread parses at once with `--threads`; with `--format
    /// prometheus`, a sixteenth of it is the number of join steps handed over at once (tests).
    #[arg(
        long = "piece-bytes",
        value_name = "BYTES",
        default_value_t = 0,
        hide = true
    )]
    pub piece_bytes: u64,
}

/// `report` output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The Prometheus text exposition format: the same metrics `/metrics` serves.
    Prometheus,
    /// A pflogsumm-style summary: totals, per-hour traffic, top lists, refusals by reason.
    Text,
    /// The same summary as one JSON object, for scripts.
    Json,
}

/// Log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Everything, including each malformed line (rate-limited).
    Debug,
    /// Start-up, directories found or lost, truncations.
    Info,
    /// Problems the exporter works around.
    Warn,
    /// Problems it cannot.
    Error,
}

/// Log formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `key=value` pairs, as other Prometheus exporters write.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// A path, where "" is allowed (it switches the webmail log off).
fn path_or_empty(s: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(s))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 1s, 500ms, 2m)"))?;
    if d < Duration::from_millis(10) {
        return Err("must be at least 10ms".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["xmail_exporter"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(
            cli.serve.xmail_log_dir,
            PathBuf::from(DEFAULT_XMAIL_LOG_DIR)
        );
        assert_eq!(cli.serve.listen_addresses, [":10587"]);
        assert_eq!(cli.serve.poll_interval, Duration::from_secs(1));
        assert_eq!(cli.serve.telemetry_path, "/metrics");
        assert_eq!(cli.log_format, LogFormat::Logfmt);
    }

    #[test]
    fn flags_and_report() {
        let cli = Cli::try_parse_from([
            "xmail_exporter",
            "--web.listen-address=127.0.0.1:1",
            "--web.listen-address",
            "[::1]:2",
            "--tail.poll-interval=250ms",
            "--tail.from-beginning",
        ])
        .unwrap();
        assert_eq!(cli.serve.listen_addresses.len(), 2);
        assert_eq!(cli.serve.poll_interval, Duration::from_millis(250));
        assert!(cli.serve.from_beginning);
        let cli = Cli::try_parse_from(["xmail_exporter", "report", "a", "b", "--log.level=debug"])
            .unwrap();
        match cli.command {
            Some(Command::Report(r)) => assert_eq!(r.paths.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(cli.log_level, LogLevel::Debug);
        assert!(Cli::try_parse_from(["xmail_exporter", "--tail.poll-interval=fast"]).is_err());
        assert!(Cli::try_parse_from(["xmail_exporter", "report"]).is_err());
        let cli = Cli::try_parse_from(["xmail_exporter", "--webmail.log-dir", ""]).unwrap();
        assert_eq!(cli.serve.webmail_log_dir, PathBuf::new());
    }
}
