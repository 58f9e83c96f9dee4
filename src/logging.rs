//! Log messages as logfmt (the Prometheus exporters' default) or JSON: on stderr, or
//! appended to a file (`--log.file`, and the Windows service, which has no console).
//!
//! This module owns where lines go and the one-step rotation of the file; what is logged
//! is each command's business.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::{LogFormat, LogLevel};

/// A log file at least this large when the logger starts is renamed to `<name>.old` (which
/// it replaces) and a new file begun, so the two never take much more than twice this.
pub const ROTATE_AT_BYTES: u64 = 10 * 1024 * 1024;

/// Installs the global logger, writing to stderr. Messages of other crates are shown from
/// `warn` up.
pub fn init(level: LogLevel, format: LogFormat) {
    install(level, format, BoxMakeWriter::new(std::io::stderr));
}

/// Installs the global logger, appending to `path` (its directory is created if missing).
/// Messages of other crates are shown from `warn` up.
pub fn init_file(level: LogLevel, format: LogFormat, path: &Path) -> anyhow::Result<()> {
    let file = open_log_file(path)?;
    install(level, format, BoxMakeWriter::new(Arc::new(file)));
    Ok(())
}

/// Opens `path` for appending, after moving it aside when it reached [`ROTATE_AT_BYTES`].
pub fn open_log_file(path: &Path) -> anyhow::Result<File> {
    let fail = |what: String, e: std::io::Error| {
        anyhow::anyhow!(
            "{what}: {e}; check the path and that this account may write there, or change --log.file"
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            fail(
                format!("cannot create the log directory {}", dir.display()),
                e,
            )
        })?;
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() >= ROTATE_AT_BYTES) {
        let old = old_path(path);
        // Windows does not rename over an existing file.
        let _ = std::fs::remove_file(&old);
        std::fs::rename(path, &old).map_err(|e| {
            let what = format!(
                "cannot move the full log file {} to {}",
                path.display(),
                old.display()
            );
            fail(what, e)
        })?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| fail(format!("cannot open the log file {}", path.display()), e))
}

/// `<path>.old`.
fn old_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".old");
    PathBuf::from(name)
}

fn install(level: LogLevel, format: LogFormat, writer: BoxMakeWriter) {
    let ours = match level {
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(ours.min(LevelFilter::WARN))
        .with_target("xmail_exporter", ours);
    let layer = match format {
        LogFormat::Logfmt => tracing_logfmt::builder()
            .with_target(false)
            .with_span_name(false)
            .with_span_path(false)
            .layer()
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_target(false)
            .with_writer(writer)
            .boxed(),
    };
    // A second call (in tests) finds a logger already installed: keep that one.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn the_file_is_appended_to_and_its_directory_made() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub").join("x.log");
        writeln!(open_log_file(&path).unwrap(), "one").unwrap();
        writeln!(open_log_file(&path).unwrap(), "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
    }

    #[test]
    fn a_full_file_is_moved_to_old_once() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.log");
        let old = tmp.path().join("x.log.old");
        std::fs::write(&old, "older").unwrap();
        let full = vec![b'a'; ROTATE_AT_BYTES as usize];
        std::fs::write(&path, &full).unwrap();
        writeln!(open_log_file(&path).unwrap(), "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(std::fs::metadata(&old).unwrap().len(), ROTATE_AT_BYTES);
        // Below the limit: kept and appended to.
        writeln!(open_log_file(&path).unwrap(), "more").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\nmore\n");
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_one_line_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = open_log_file(&blocker.join("x.log")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("cannot create the log directory"), "{msg}");
        assert!(msg.contains("--log.file"), "{msg}");
    }
}
