//! `xmail_exporter report PATH...`: read log files once, from start to end, and print the
//! metrics they produce, or their summary. One-shot analysis, golden tests and benchmarks
//! all use it. The summary goes through [`crate::summary::files::summarize_files_on`], the function
//! any other caller uses for the same JSON, and the metrics read the files through the same
//! [`crate::summary::files::read_files`], in the same order.
//!
//! `--threads N` reads the summary on N threads ([`crate::summary::parallel`]), with the
//! same output as one; the Prometheus format, with more than one, reads the SMTP files on a
//! thread of their own ([`crate::metrics::split`]), again with the same output.
//!
//! `--since`/`--until` narrow the summary (`text`, `json`) to a time range. The Prometheus
//! format refuses them: its counters and the exporter's own metrics (bytes read, last
//! event times) describe whole files, and a range of counters is Prometheus' own job.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{ReportArgs, ReportFormat};
use crate::config::Settings;
use crate::metrics::split::{BATCH_STEPS, read_split};
use crate::metrics::{Recorder, encode_families, encode_text};
use crate::summary::files::{LogFile, read_files, reading_order, summarize_files_on};
use crate::summary::parallel::Parallel;
use crate::summary::range::parse_range;
use crate::summary::render_text;

/// Collects the log files under `path` (recursively for a directory), sorted by path.
fn collect(path: &Path, explicit: bool, out: &mut Vec<LogFile>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for p in entries {
            // Recurse into real directories only, so a link cannot make a loop.
            let is_link = std::fs::symlink_metadata(&p)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if is_link && p.is_dir() {
                continue;
            }
            collect(&p, false, out)?;
        }
        return Ok(());
    }
    match LogFile::at(path) {
        Some(file) => out.push(file),
        None if explicit => tracing::warn!(
            path = %path.display(),
            "skipped: not an smtp-*, smail-* or error-YYYYMMDD.txt log"
        ),
        None => tracing::debug!(path = %path.display(), "skipped: not a log this exporter reads"),
    }
    Ok(())
}

/// Runs the report. Exits with failure when a path could not be read (after printing what
/// the others gave).
pub fn run(args: &ReportArgs, settings: Settings) -> anyhow::Result<ExitCode> {
    let ranged = args.since.is_some() || args.until.is_some();
    if ranged && args.format == ReportFormat::Prometheus {
        anyhow::bail!(
            "--since and --until apply to --format text and json: the Prometheus format counts whole files (ask Prometheus for a range, e.g. increase(...[1d]))"
        );
    }
    let range = parse_range(args.since.as_deref(), args.until.as_deref())?;
    let (mut files, mut failed) = collect_all(&args.paths);
    let text = match args.format {
        ReportFormat::Prometheus => {
            reading_order(&mut files);
            if Parallel::new(args.threads, args.piece_bytes).threads > 1 {
                // `--piece-bytes` (tests) makes batches small too.
                let batch = match args.piece_bytes {
                    0 => BATCH_STEPS,
                    b => (b / 16) as usize,
                };
                let (families, unread) =
                    read_split(&files, &settings, batch).context("cannot register metrics")?;
                failed |= unread > 0;
                encode_families(&families)
            } else {
                let mut recorder = Recorder::from_settings(&settings, false)
                    .context("cannot register metrics")?
                    .one_shot();
                failed |= read_files(&files, &mut recorder, u64::MAX).failed > 0;
                recorder.finish();
                encode_text(recorder.registry())
            }
        }
        // The summary parses lines itself: no metrics are registered.
        ReportFormat::Text | ReportFormat::Json => {
            let par = Parallel::new(args.threads, args.piece_bytes);
            let report =
                summarize_files_on(files, &range, &settings, args.top, args.lang, u64::MAX, par)
                    .report;
            failed |= report.read_errors > 0;
            let text = if args.format == ReportFormat::Json {
                let mut json =
                    serde_json::to_string_pretty(&report).context("cannot encode the summary")?;
                json.push('\n');
                json
            } else {
                render_text(&report, args.lang)
            };
            text.into_bytes()
        }
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(&text).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("cannot write the report to stdout");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The log files under `paths`; `true` when a path could not be read.
fn collect_all(paths: &[PathBuf]) -> (Vec<LogFile>, bool) {
    let mut failed = false;
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = collect(p, true, &mut files) {
            tracing::error!(path = %p.display(), error = %e, "cannot read");
            failed = true;
        }
    }
    (files, failed)
}
