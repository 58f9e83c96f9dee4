//! Which log files exist now: lists a directory and keeps the names that are logs of the
//! kinds that directory is watched for.

use std::fs;
use std::io;
use std::path::Path;

use crate::parse::LogKind;

/// A set of log kinds (a directory may hold several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSet(u8);

impl KindSet {
    /// The XMail kinds: `smtp-*`, `smail-*` and `pop3-*`.
    pub const XMAIL: KindSet =
        KindSet(1 << LogKind::Smtp as u8 | 1 << LogKind::Smail as u8 | 1 << LogKind::Pop3 as u8);
    /// The logs that follow messages: `smtp-*` and `smail-*`.
    pub const MESSAGES: KindSet = KindSet(1 << LogKind::Smtp as u8 | 1 << LogKind::Smail as u8);
    /// The webmail kind: `error-*.txt`.
    pub const WEBMAIL: KindSet = KindSet(1 << LogKind::Webmail as u8);

    /// Does the set hold `kind`?
    pub fn contains(self, kind: LogKind) -> bool {
        self.0 & (1 << kind as u8) != 0
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

/// Lists the log files of `kinds` in `dir`, sorted by kind then name. Sub-directories and
/// names that are not UTF-8 are ignored.
pub fn scan(dir: &Path, kinds: KindSet) -> io::Result<Vec<Found>> {
    let mut found = Vec::new();
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
        // `file_type` does not follow links: a linked log file is still followed.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        found.push(Found { kind, name });
    }
    found.sort_unstable();
    Ok(found)
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
}
