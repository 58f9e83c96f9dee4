//! `xmail_exporter report PATH...`: read log files once, from start to end, and print the
//! metrics they produce. One-shot analysis, golden tests and benchmarks all use it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{ReportArgs, ReportFormat};
use crate::config::Settings;
use crate::metrics::{Recorder, encode_text};
use crate::parse::LogKind;
use crate::read::Sink;
use crate::read::once::read_whole;
use crate::summary::{Summary, render_text};

/// A log file to read, with its kind.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Input {
    path: PathBuf,
    kind: LogKind,
    name: String,
}

/// Collects the log files under `path` (recursively for a directory), sorted by path.
fn collect(path: &Path, explicit: bool, out: &mut Vec<Input>) -> std::io::Result<()> {
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
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    match LogKind::from_file_name(&name) {
        Some(kind) => out.push(Input {
            path: path.to_path_buf(),
            kind,
            name,
        }),
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
    let (text, failed) = match args.format {
        ReportFormat::Prometheus => {
            let mut recorder = Recorder::from_settings(&settings, false)
                .context("cannot register metrics")?
                .one_shot();
            let failed = read_all(&args.paths, &mut recorder);
            recorder.finish();
            (encode_text(recorder.registry()), failed)
        }
        // The summary parses lines itself: no metrics are registered.
        ReportFormat::Text | ReportFormat::Json => {
            let mut summary =
                Summary::new(settings.classifier.clone(), settings.tz.clone(), args.top);
            let failed = read_all(&args.paths, &mut summary);
            let report = summary.report(args.top, args.lang);
            let text = if args.format == ReportFormat::Json {
                let mut json =
                    serde_json::to_string_pretty(&report).context("cannot encode the summary")?;
                json.push('\n');
                json
            } else {
                render_text(&report, args.lang)
            };
            (text.into_bytes(), failed)
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

/// Reads every log file under `paths` into `sink`, each period's SMTP file before its SMAIL
/// file. Returns `true` when a path or a file could not be read.
fn read_all(paths: &[PathBuf], sink: &mut impl Sink) -> bool {
    let mut failed = false;
    let mut inputs = Vec::new();
    for p in paths {
        if let Err(e) = collect(p, true, &mut inputs) {
            tracing::error!(path = %p.display(), error = %e, "cannot read");
            failed = true;
        }
    }
    // Within a directory, each period's SMTP file before its SMAIL file, so a delivery
    // finds the RECV=OK of its message (the delivery delay).
    inputs.sort_by_key(|i| {
        let period = i
            .name
            .split_once('-')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
        (i.path.parent().map(Path::to_path_buf), period, i.kind)
    });
    for input in &inputs {
        if let Err(e) = read_whole(&input.path, input.kind, &input.name, sink) {
            tracing::error!(path = %input.path.display(), error = %e, "cannot read log file");
            sink.read_error(input.kind, &input.path, &e);
            failed = true;
        }
    }
    failed
}
