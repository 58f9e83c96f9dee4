//! Which log files exist now: lists a directory and keeps the names that are logs of the
//! kinds that directory is watched for.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::parse::time::LocalTime;
use crate::parse::{LogKind, ParseCtx};

/// A set of log kinds (a directory may hold several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSet(u16);

impl KindSet {
    /// Every XMail kind: `smtp-*`, `smail-*`, `pop3-*`, `ctrl-*`, `psync-*`, `filters-*`,
    /// `lmail-*` and `finger-*`.
    pub const XMAIL: KindSet = KindSet(
        1 << LogKind::Smtp as u16
            | 1 << LogKind::Smail as u16
            | 1 << LogKind::Pop3 as u16
            | 1 << LogKind::Ctrl as u16
            | 1 << LogKind::Psync as u16
            | 1 << LogKind::Filters as u16
            | 1 << LogKind::Lmail as u16
            | 1 << LogKind::Finger as u16,
    );
    /// The logs that follow messages: `smtp-*` and `smail-*`.
    pub const MESSAGES: KindSet = KindSet(1 << LogKind::Smtp as u16 | 1 << LogKind::Smail as u16);
    /// The filters log: `filters-*`.
    pub const FILTERS: KindSet = KindSet(1 << LogKind::Filters as u16);
    /// The webmail kind: `error-*.txt`.
    pub const WEBMAIL: KindSet = KindSet(1 << LogKind::Webmail as u16);

    /// Does the set hold `kind`?
    pub fn contains(self, kind: LogKind) -> bool {
        self.0 & (1 << kind as u16) != 0
    }

    /// Both sets together.
    pub fn union(self, other: KindSet) -> KindSet {
        KindSet(self.0 | other.0)
    }

    /// The kinds in the set.
    pub fn iter(self) -> impl Iterator<Item = LogKind> {
        LogKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

/// A log file found in a directory.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    /// Its kind.
    pub kind: LogKind,
    /// Its file name (XMail's time-named files sort by time).
    pub name: String,
}

/// A log-named entry of a directory that is not a regular file (a FIFO, a socket, a
/// device, also behind a symlink): never opened, so that it cannot block or flood a reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Odd {
    /// Its file name.
    pub name: String,
    /// What it is, in words ("a FIFO").
    pub what: &'static str,
}

/// What one listing found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The log files, sorted by kind then name.
    pub found: Vec<Found>,
    /// Entries named like logs that are not regular files, sorted by name.
    pub odd: Vec<Odd>,
}

/// Lists the log files of `kinds` in `dir`, sorted by kind then name. Sub-directories,
/// names that are not UTF-8, and entries that are not regular files are left out.
pub fn scan(dir: &Path, kinds: KindSet) -> io::Result<Vec<Found>> {
    scan_all(dir, kinds).map(|l| l.found)
}

/// Like [`scan`], and says which log-named entries were left out for not being regular
/// files. A dangling symlink is left out silently (its target may still come).
pub fn scan_all(dir: &Path, kinds: KindSet) -> io::Result<Listing> {
    let mut listing = Listing::default();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(kind) = LogKind::from_file_name(&name) else {
            continue;
        };
        if !kinds.contains(kind) {
            continue;
        }
        // `file_type` does not follow links (and costs no system call on most
        // filesystems); a link is followed to what it points at.
        let Ok(t) = entry.file_type() else {
            continue;
        };
        if t.is_dir() {
            continue;
        }
        if !t.is_file() {
            match fs::metadata(entry.path()) {
                Ok(m) if m.is_file() => {}
                Ok(m) if m.is_dir() => continue,
                Ok(m) => {
                    let what = super::open::odd_kind(&m).unwrap_or("not a regular file");
                    listing.odd.push(Odd { name, what });
                    continue;
                }
                Err(_) => continue,
            }
        }
        listing.found.push(Found { kind, name });
    }
    listing.found.sort_unstable();
    listing.odd.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

/// A log file to read: where it is, and its kind and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its kind, from its name.
    pub kind: LogKind,
    /// Its file name (`smtp-202611270000`, `error-20261127.txt`).
    pub name: String,
}

impl LogFile {
    /// The file at `path`, when its name is a log's (`None` otherwise, or when the name is
    /// not UTF-8).
    pub fn at(path: &Path) -> Option<LogFile> {
        let name = path.file_name()?.to_str()?;
        let kind = LogKind::from_file_name(name)?;
        Some(LogFile {
            path: path.to_path_buf(),
            kind,
            name: name.to_string(),
        })
    }

    /// The date in its name, midnight (`None` when the name holds no valid date).
    pub fn date(&self) -> Option<LocalTime> {
        ParseCtx::for_file(self.kind, &self.name).file_date
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_logs_of_the_wanted_kinds() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "smtp-202611280000",
            "smtp-202611270000",
            "smail-202611270000",
            "pop3-202611270000",
            "smtp-202611260000.gz",
            "error-20261127.txt",
        ] {
            fs::write(dir.path().join(n), b"").unwrap();
        }
        fs::create_dir(dir.path().join("smtp-202611290000")).unwrap();
        let got = scan(dir.path(), KindSet::XMAIL).unwrap();
        let names: Vec<_> = got.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "smtp-202611270000",
                "smtp-202611280000",
                "smail-202611270000",
                "pop3-202611270000"
            ]
        );
        let messages = scan(dir.path(), KindSet::MESSAGES).unwrap();
        assert_eq!(messages.len(), 3);
        let web = scan(dir.path(), KindSet::WEBMAIL).unwrap();
        assert_eq!(
            web,
            vec![Found {
                kind: LogKind::Webmail,
                name: "error-20261127.txt".into()
            }]
        );
        assert!(scan(&dir.path().join("missing"), KindSet::XMAIL).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn entries_that_are_not_regular_files_are_left_out_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("smtp-202612041359"), b"").unwrap();
        let fifo =
            std::ffi::CString::new(d.join("smtp-202612041400").as_os_str().as_encoded_bytes())
                .unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::os::unix::fs::symlink("/dev/zero", d.join("smtp-202612041401")).unwrap();
        std::os::unix::fs::symlink("smtp-202612041359", d.join("smail-202612041359")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.join("pop3-202612041359")).unwrap();
        let got = scan_all(d, KindSet::XMAIL).unwrap();
        let names: Vec<_> = got.found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["smtp-202612041359", "smail-202612041359"]);
        assert_eq!(
            got.odd,
            vec![
                Odd {
                    name: "smtp-202612041400".into(),
                    what: "a FIFO"
                },
                Odd {
                    name: "smtp-202612041401".into(),
                    what: "a character device"
                },
            ]
        );
    }
}
