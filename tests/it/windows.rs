//! Windows only: paths as Windows users write them (a drive letter, backslashes, forward
//! slashes, a trailing separator, the `\\?\` form, a relative path) for `report` and for the
//! running exporter, and XMail's default directories under `C:\MailRoot`. Files locked by
//! another process are in `bad_input`. (Run under Wine by `scripts/windows.sh test`, where
//! the temporary directory is on drive C: of the test prefix.)

#![cfg(windows)]

use std::path::Path;

use crate::util::{Exporter, TempLogs, root, run_exporter, smtp_line};

/// A copy of `examples/logs/xmail` in a temporary directory (on a drive, with backslashes).
fn sample_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("MailRoot").join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let samples = root().join("examples").join("logs").join("xmail");
    for entry in std::fs::read_dir(&samples).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    (tmp, dir)
}

/// `report` over one directory named six ways prints the same, byte for byte.
#[test]
fn report_takes_a_directory_however_windows_spells_it() {
    let (_tmp, dir) = sample_copy();
    let plain = dir.to_str().unwrap().to_string();
    assert!(
        plain.as_bytes().get(1) == Some(&b':') && plain.contains('\\'),
        "expected a drive letter and backslashes: {plain}"
    );
    let verbatim = std::fs::canonicalize(&dir).unwrap();
    let verbatim = verbatim.to_str().unwrap();
    assert!(verbatim.starts_with(r"\\?\"), "{verbatim}");
    // Relative to the current directory of `run_exporter` (the repository root).
    let relative = r"examples\logs\xmail";
    let spellings = [
        plain.clone(),
        plain.replace('\\', "/"),
        format!("{plain}\\"),
        format!("{}/", plain.replace('\\', "/")),
        verbatim.to_string(),
        relative.to_string(),
    ];
    let (ok, want, err) = run_exporter(&["report", &plain]);
    assert!(ok, "report {plain}: {err}");
    assert!(
        want.contains("xmail_exporter_log_lines_total{log=\"smtp\",result=\"parsed\"}"),
        "{want}"
    );
    for path in &spellings {
        let (ok, got, err) = run_exporter(&["report", path]);
        assert!(ok, "report {path}: {err}");
        assert!(got == want, "report {path} differs from report {plain}");
    }
}

/// The running exporter follows log directories given with forward slashes and a trailing
/// separator (as a config file or a service's command line may say them).
#[test]
fn serve_follows_directories_spelled_with_either_separator() {
    let logs = TempLogs::new();
    let xmail = format!("{}/", logs.xmail.to_str().unwrap().replace('\\', "/"));
    let webmail = format!("{}\\", logs.webmail.to_str().unwrap());
    let ex = Exporter::start(&[
        "--xmail.log-dir",
        &xmail,
        "--webmail.log-dir",
        &webmail,
        "--tail.poll-interval",
        "100ms",
    ]);
    ex.wait_status("/-/ready", 200);
    logs.append(
        "smtp-202611270000",
        &smtp_line("192.0.2.1", "2026-11-27 10:00:00", "S1", "RECV=OK", "", 100),
    );
    logs.append(
        "smtp-202611270000",
        &smtp_line("192.0.2.2", "2026-11-27 10:00:01", "S2", "RECV=OK", "", 200),
    );
    let s = ex.wait_for("two lines", |s| {
        s.value(
            "xmail_exporter_log_lines_total",
            &[("log", "smtp"), ("result", "parsed")],
        ) == 2.0
    });
    assert_eq!(
        s.value("xmail_exporter_log_directory_exists", &[("log", "smtp")]),
        1.0
    );
    assert_eq!(
        s.value("xmail_exporter_log_directory_exists", &[("log", "webmail")]),
        1.0
    );
}

/// Without `--xmail.log-dir` the exporter follows `C:\MailRoot\logs`, XMail's default on
/// Windows, and `--help` says so (with the spool's default, `C:\MailRoot\spool`).
#[test]
fn the_default_directories_are_under_c_mailroot() {
    let (ok, help, err) = run_exporter(&["--help"]);
    assert!(ok, "{err}");
    assert!(help.contains(r"C:\MailRoot\logs"), "{help}");
    assert!(help.contains(r"C:\MailRoot\spool"), "{help}");
    if Path::new(r"C:\MailRoot\logs").exists() {
        eprintln!(r"SKIPPED: the default-directory run: C:\MailRoot\logs exists on this host");
        return;
    }
    let ex = Exporter::start(&[]);
    // Absent: said, no read error, still ready (it is followed once it appears).
    ex.wait_log("log directory does not exist");
    let log = ex.log();
    assert!(
        log.lines()
            .any(|l| l.contains("log directory does not exist")
                && l.contains(r"dir=C:\MailRoot\logs")),
        "{log}"
    );
    ex.wait_status("/-/ready", 200);
    let s = ex.scrape();
    assert_eq!(
        s.value("xmail_exporter_log_directory_exists", &[("log", "smtp")]),
        0.0
    );
}
