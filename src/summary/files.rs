//! The files a reading goes through, and the one way `report` and any other caller read them
//! into a summary: [`summarize`] (log directories, as a web handler has them) and
//! [`summarize_files`] (files, as `report` collects them from its paths) give the same
//! [`Report`] that `report --format json` prints, for a [`TimeRange`], within a byte budget.
//! `report --format prometheus` reads its files through [`read_files`] too, in the same
//! [`reading_order`].

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::parallel::{Parallel, summarize_parallel};
use super::range::{file_may_hold, is_bounded};
use super::{Report, Summary};
use crate::config::Settings;
use crate::explain::Lang;

use crate::read::Sink;
pub use crate::read::discover::LogFile;
use crate::read::discover::{self, KindSet};
use crate::read::once::read_at_most;
use crate::read::range::TimeRange;

/// The log files of each directory of `dirs` of the kinds given with it (not searched
/// recursively: the files the serving mode follows). An error names the directory that
/// could not be listed.
pub fn list(dirs: &[(PathBuf, KindSet)]) -> anyhow::Result<Vec<LogFile>> {
    let mut files = Vec::new();
    for (dir, kinds) in dirs {
        let found = discover::scan(dir, *kinds)
            .with_context(|| format!("cannot list the log directory {}", dir.display()))?;
        files.extend(found.into_iter().map(|f| LogFile {
            path: dir.join(&f.name),
            kind: f.kind,
            name: f.name,
        }));
    }
    Ok(files)
}

/// Sorts `files` into the order to read them: by directory, then by the period in their
/// names, a period's SMTP file before its SMAIL file (so a delivery finds the `RECV=OK` of
/// its message). Files of one directory and period keep their order.
pub fn reading_order(files: &mut [LogFile]) {
    files.sort_by_key(|f| {
        let period = f
            .name
            .split_once('-')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
        (f.path.parent().map(Path::to_path_buf), period, f.kind)
    });
}

/// Leaves out the files whose names say they cannot hold lines of `range`
/// ([`super::range::file_may_hold`]: a file's period ends where the next file of its kind
/// in its directory starts). Keeps the order of the others.
pub fn in_range(files: Vec<LogFile>, range: &TimeRange) -> Vec<LogFile> {
    if !is_bounded(range) {
        return files;
    }
    let dates: Vec<_> = files.iter().map(LogFile::date).collect();
    // Each file's successor: the next date among the files of its directory and kind.
    let mut by_group: Vec<usize> = (0..files.len()).collect();
    let group = |i: usize| (files[i].path.parent(), files[i].kind);
    by_group.sort_by(|&a, &b| {
        group(a)
            .cmp(&group(b))
            .then_with(|| dates[a].cmp(&dates[b]))
            .then_with(|| files[a].name.cmp(&files[b].name))
    });
    let mut next = vec![None; files.len()];
    for pair in by_group.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if group(a) == group(b) && dates[b] > dates[a] {
            next[a] = dates[b];
        }
    }
    // Files of one group with the same date (hourly periods) share the next date.
    for pair in by_group.windows(2).rev() {
        let (a, b) = (pair[0], pair[1]);
        if group(a) == group(b) && dates[b] == dates[a] {
            next[a] = next[b];
        }
    }
    files
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let keep = file_may_hold(range, f.kind, dates[i], next[i]);
            if !keep {
                tracing::debug!(path = %f.path.display(), "skipped: its name is outside the time range");
            }
            keep.then_some(f)
        })
        .collect()
}

/// What [`read_files`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Files that could not be read (each logged, and handed to [`Sink::read_error`]).
    pub failed: u64,
    /// Bytes read.
    pub bytes: u64,
    /// The byte budget ran out before the end of the files.
    pub truncated: bool,
}

/// Reads `files` in the order given into `sink`, at most `max_bytes` bytes in all
/// (`u64::MAX`: no limit): when the budget runs out, the line it cuts and every later file
/// are left unread. A file that cannot be read is logged and handed to [`Sink::read_error`],
/// and the others are still read.
pub fn read_files(files: &[LogFile], sink: &mut impl Sink, max_bytes: u64) -> Reading {
    let mut reading = Reading::default();
    for f in files {
        let left = max_bytes - reading.bytes;
        if left == 0 {
            // An empty file left unread loses nothing.
            reading.truncated |= std::fs::metadata(&f.path).map_or(true, |m| m.len() > 0);
            continue;
        }
        match read_at_most(&f.path, f.kind, &f.name, sink, left) {
            Ok(r) => {
                reading.bytes += r.bytes;
                reading.truncated |= r.cut;
            }
            Err(e) => {
                tracing::error!(path = %f.path.display(), error = %e, "cannot read log file");
                sink.read_error(f.kind, &f.path, &e);
                reading.failed += 1;
            }
        }
    }
    reading
}

/// A summary and how much of the logs it covers.
#[derive(Clone, Debug)]
pub struct Summarized {
    /// The summary, as `report --format json` prints it.
    pub report: Report,
    /// The byte budget ran out: the newest files (in [`reading_order`]) were not read, or
    /// not to their end. `report.period.last` says how far the reading went.
    pub truncated: bool,
}

/// The summary of `files` for `range`, as `report --format json --since --until` prints it
/// for the paths it found them under: the files whose names cannot hold lines of the range
/// are not read ([`in_range`]), the others are read in [`reading_order`] (oldest first) until
/// `max_bytes` bytes have been read (`u64::MAX`: no limit), and only their lines of the range
/// count. Top lists keep `top` entries (0: all), titles are in `lang`, times are read in
/// `settings`' zone and webmail errors classified by its rules. A file that cannot be read
/// is logged and counted in `report.read_errors`.
pub fn summarize_files(
    files: Vec<LogFile>,
    range: &TimeRange,
    settings: &Settings,
    top: usize,
    lang: Lang,
    max_bytes: u64,
) -> Summarized {
    summarize_files_on(files, range, settings, top, lang, max_bytes, Parallel::ONE)
}

/// [`summarize_files`] read on `par.threads` threads ([`super::parallel`]): the same summary.
/// A byte budget (`max_bytes` other than `u64::MAX`) reads on one thread.
pub fn summarize_files_on(
    files: Vec<LogFile>,
    range: &TimeRange,
    settings: &Settings,
    top: usize,
    lang: Lang,
    max_bytes: u64,
    par: Parallel,
) -> Summarized {
    let mut files = in_range(files, range);
    reading_order(&mut files);
    let mut summary =
        Summary::new(settings.classifier.clone(), settings.tz.clone(), top).with_range(*range);
    let truncated = if par.threads > 1 && max_bytes == u64::MAX {
        summarize_parallel(&files, &mut summary, par);
        false
    } else {
        read_files(&files, &mut summary, max_bytes).truncated
    };
    Summarized {
        report: summary.report(top, lang),
        truncated,
    }
}

/// The summary of the log directories `dirs` (each with the kinds of log it holds, such as
/// [`KindSet::XMAIL`] and [`KindSet::WEBMAIL`]; not searched recursively) for `range`, as
/// `report --format json --since --until` prints it for those directories; at most
/// `max_bytes` bytes are read (see [`summarize_files`]). An error names a directory that
/// could not be listed.
pub fn summarize(
    dirs: &[(PathBuf, KindSet)],
    range: &TimeRange,
    settings: &Settings,
    top: usize,
    lang: Lang,
    max_bytes: u64,
) -> anyhow::Result<Summarized> {
    let files = list(dirs)?;
    Ok(summarize_files(
        files, range, settings, top, lang, max_bytes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::range::parse_bound;

    fn files(names: &[&str]) -> Vec<LogFile> {
        names
            .iter()
            .map(|n| LogFile::at(Path::new(n)).unwrap())
            .collect()
    }

    fn names(files: &[LogFile]) -> Vec<String> {
        files.iter().map(|f| f.path.display().to_string()).collect()
    }

    #[test]
    fn reading_order_is_by_directory_then_period_smtp_first() {
        let mut f = files(&[
            "b/smail-202611270000",
            "b/smtp-202611280000",
            "a/smtp-202611280000",
            "b/smtp-202611270000",
            "b/pop3-202611270000",
        ]);
        reading_order(&mut f);
        assert_eq!(
            names(&f),
            [
                "a/smtp-202611280000",
                "b/smtp-202611270000",
                "b/smail-202611270000",
                "b/pop3-202611270000",
                "b/smtp-202611280000",
            ]
        );
    }

    #[test]
    fn files_outside_the_range_are_left_out() {
        let range = TimeRange {
            since: Some(parse_bound("2026-11-27 10:00", false).unwrap()),
            until: Some(parse_bound("2026-11-28", true).unwrap()),
        };
        let all = files(&[
            "x/smtp-202611250000",
            "x/smtp-202611260000",
            "x/smtp-202611270000",
            "x/smtp-202611280000",
            "x/smtp-202611290000",
            // The last SMAIL file of x/ before the range: its period is open.
            "x/smail-202611200000",
            // Hourly periods: the two files of the 26th end where the 27th's starts.
            "y/smtp-202611261200",
            "y/smtp-202611262300",
            "y/smtp-202611270100",
            "y/smtp-202611250000",
            "w/error-20261129.txt",
            "w/error-20261130.txt",
            // No valid date in the name: read.
            "z/smtp-20261399",
        ]);
        assert_eq!(
            names(&in_range(all.clone(), &range)),
            [
                "x/smtp-202611260000",
                "x/smtp-202611270000",
                "x/smtp-202611280000",
                "x/smail-202611200000",
                "y/smtp-202611261200",
                "y/smtp-202611262300",
                "y/smtp-202611270100",
                "w/error-20261129.txt",
                "z/smtp-20261399",
            ]
        );
        assert_eq!(in_range(all.clone(), &TimeRange::default()), all);
    }
}
