//! `xmail_exporter trace QUERY`: the command-line face of [`crate::trace`]. It reads the
//! flags, prints the messages as text or JSON and exits with failure when nothing matches.
//! It needs no `--config` settings, so a broken config file does not stop it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{TraceArgs, TraceFormat};
use crate::trace::{self, Query, TimeRange};

/// Runs `trace`.
pub fn run(args: &TraceArgs) -> anyhow::Result<ExitCode> {
    let query = Query::parse(&args.query);
    let range = TimeRange::parse(args.since.as_deref(), args.until.as_deref())?;
    let dir = &args.xmail_log_dir;
    let files = trace::log_files(dir, &range)
        .with_context(|| format!("cannot list {}: check --xmail.log-dir", dir.display()))?;
    let messages = trace::trace(&files, &query, &range, args.lang)?;
    let mut out = std::io::stdout().lock();
    let result = match args.format {
        TraceFormat::Json => serde_json::to_writer_pretty(&mut out, &messages)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        TraceFormat::Text => trace::write_text(&mut out, &messages, args.lang),
    };
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("cannot write to stdout");
    }
    if messages.is_empty() {
        eprintln!(
            "xmail_exporter: no SMTP or SMAIL line matches {:?} in {}",
            args.query,
            dir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
