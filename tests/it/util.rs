//! Shared helpers: a temporary log tree, the exporter binary as a child process, a minimal
//! HTTP client and a parser for the text exposition format.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn exporter_bin() -> &'static str {
    env!("CARGO_BIN_EXE_xmail_exporter")
}

/// Runs the exporter binary from the repository root with `args`: (success, stdout, stderr).
pub fn run_exporter(args: &[&str]) -> (bool, String, String) {
    let out = output_of(Command::new(exporter_bin()).current_dir(root()).args(args));
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `f` until it succeeds. On Windows only, an error whose code is in `codes` is tried
/// again, at most `tries` times, `pause` apart, each retry printed (`scripts/windows.sh`
/// lists them); any other error, or the last, panics with `what`.
pub fn retry_on_windows<T>(
    what: &str,
    codes: &[i32],
    tries: u32,
    pause: Duration,
    mut f: impl FnMut() -> std::io::Result<T>,
) -> T {
    let mut n = 0;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e)
                if cfg!(windows)
                    && e.raw_os_error().is_some_and(|c| codes.contains(&c))
                    && n < tries =>
            {
                n += 1;
                eprintln!("{what} failed ({e}); retry {n} of {tries}");
                std::thread::sleep(pause);
            }
            Err(e) => panic!("{what} failed: {e}"),
        }
    }
}

/// Wine's CreateProcess now and then fails with ERROR_INTERNAL_ERROR (1359) for no reason of
/// the program started; a Windows host does not. Only that error is retried.
const WINE_SPAWN_FLAKE: i32 = 1359;

/// Runs `cmd` to its end and returns what it printed (see [`WINE_SPAWN_FLAKE`]).
pub fn output_of(cmd: &mut Command) -> std::process::Output {
    let what = format!("starting {:?}", cmd.get_program());
    retry_on_windows(
        &what,
        &[WINE_SPAWN_FLAKE],
        5,
        Duration::from_millis(500),
        || cmd.output(),
    )
}

/// Starts `cmd` (see [`WINE_SPAWN_FLAKE`]).
pub fn spawn_of(cmd: &mut Command) -> Child {
    let what = format!("starting {:?}", cmd.get_program());
    retry_on_windows(
        &what,
        &[WINE_SPAWN_FLAKE],
        5,
        Duration::from_millis(500),
        || cmd.spawn(),
    )
}

/// Compares `got` with the golden file `path`; `UPDATE_GOLDEN=1` rewrites it instead.
pub fn assert_golden(path: &Path, got: &str, what: &str) {
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, got).unwrap();
    }
    let want = fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{} (create with UPDATE_GOLDEN=1)", path.display()));
    assert!(
        got == want,
        "{what} differs from {}:\n--- want\n{want}\n--- got\n{got}",
        path.display()
    );
}

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary `logs/` (XMail) and `weblogs/` (Nmail) pair.
pub struct TempLogs {
    pub tmp: tempfile::TempDir,
    pub xmail: PathBuf,
    pub webmail: PathBuf,
}

impl TempLogs {
    pub fn new() -> TempLogs {
        let tmp = tempfile::tempdir().unwrap();
        let xmail = tmp.path().join("logs");
        let webmail = tmp.path().join("weblogs");
        fs::create_dir(&xmail).unwrap();
        fs::create_dir(&webmail).unwrap();
        TempLogs {
            tmp,
            xmail,
            webmail,
        }
    }

    /// Appends bytes to a file of the XMail dir (created if needed), in one write.
    pub fn append(&self, file: &str, bytes: &[u8]) {
        append(&self.xmail.join(file), bytes);
    }

    /// Appends bytes to a file of the webmail dir.
    pub fn append_web(&self, file: &str, bytes: &[u8]) {
        append(&self.webmail.join(file), bytes);
    }
}

pub fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// Builds an SMTP line (13 quoted fields, TAB separated, LF added).
pub fn smtp_line(peer: &str, time: &str, id: &str, status: &str, user: &str, size: u64) -> Vec<u8> {
    let fields = [
        "mail.example.co.kr",
        "example.co.kr",
        peer,
        time,
        "client.example.net",
        "example.co.kr",
        "a@example.net",
        "kim@example.co.kr",
        id,
        status,
        user,
        &size.to_string(),
        "",
    ];
    let mut s = fields
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect::<Vec<_>>()
        .join("\t");
    s.push('\n');
    s.into_bytes()
}

/// The exporter running as a child process; killed on drop.
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Exporter {
    /// Starts the exporter on a free loopback port with `args` and waits until it listens.
    pub fn start(args: &[&str]) -> Exporter {
        Exporter::start_with(&[], args)
    }

    /// Like [`Exporter::start`], but runs the binary through `wrapper` (a command that
    /// `exec`s its arguments, such as `setpriv --reuid=...`), so the child's pid is the
    /// exporter's own. An empty `wrapper` runs the binary directly.
    pub fn start_with(wrapper: &[&str], args: &[impl AsRef<std::ffi::OsStr>]) -> Exporter {
        let mut cmd = match wrapper.split_first() {
            None => Command::new(exporter_bin()),
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(exporter_bin());
                c
            }
        };
        cmd.args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            "debug",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = spawn_of(&mut cmd);
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening")
                    && let Some(a) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("address="))
                {
                    let _ = tx.send(a.trim_matches('"').to_string());
                }
                let mut l = log2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a.parse().expect("listen address"),
            Err(_) => {
                let _ = child.kill();
                panic!("exporter did not start; its log:\n{}", log.lock().unwrap());
            }
        };
        Exporter { child, addr, log }
    }

    /// The process id of the exporter (the child process).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended, `None` while it runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// A `kB` field of `/proc/<pid>/status` of the exporter (`VmHWM`, `VmRSS`, ...), in KiB.
    #[cfg(target_os = "linux")]
    pub fn proc_status_kib(&self, field: &str) -> u64 {
        proc_status(self.pid(), field)
            .and_then(|v| v.strip_suffix("kB").map(|n| n.trim().parse().ok()))
            .flatten()
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.pid()))
    }

    /// What the exporter logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the exporter has logged a line containing `needle` (its log is read by
    /// another thread, so a line may arrive a little after what it reports).
    pub fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "the exporter never logged {needle:?}; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// GETs a path.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
    }

    /// Scrapes the metrics.
    pub fn scrape(&self) -> Scrape {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        Scrape::parse(&body)
    }

    /// Scrapes until `cond` holds, or panics after 10 s with the last scrape and the log.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&Scrape) -> bool) -> Scrape {
        self.wait_for_within(Duration::from_secs(10), what, cond)
    }

    /// Waits until `path` answers with HTTP status `status`, or panics after 10 s.
    pub fn wait_status(&self, path: &str, status: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (got, body) = self.get(path);
            if got == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{path} still answers {got}, not {status}: {body}\nlog:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Exporter::wait_for`] with another time limit.
    pub fn wait_for_within(
        &self,
        limit: Duration,
        what: &str,
        cond: impl Fn(&Scrape) -> bool,
    ) -> Scrape {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.scrape();
            if cond(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}\nlast scrape:\n{}\nlog:\n{}",
                    s.text,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process at once (SIGKILL on Unix) and waits for it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM (Unix) and waits for the exit status.
    #[cfg(unix)]
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `field` in `/proc/<pid>/status` (e.g. `Uid`, `VmHWM`), trimmed.
#[cfg(target_os = "linux")]
pub fn proc_status(pid: u32, field: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// A plain HTTP/1.1 GET; returns the status and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path)
}

/// A plain HTTP/1.1 request without a body; returns the status and the body.
pub fn http_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// A parsed scrape: `name{sorted labels}` -> value.
pub struct Scrape {
    pub text: String,
    pub samples: BTreeMap<String, f64>,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or(f64::NAN),
            };
            samples.insert(canonical(series), value);
        }
        Scrape {
            text: text.to_string(),
            samples,
        }
    }

    /// The value of `name{labels}`, or `None` if the series is absent.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.get(&key(name, labels)).copied()
    }

    /// The value of `name{labels}`, panicking with the scrape if absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {}\n{}", key(name, labels), self.text))
    }

    /// The sum of every series of `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.samples
            .iter()
            .filter(|(k, _)| k.split('{').next() == Some(name))
            .map(|(_, v)| v)
            .sum()
    }

    /// How many series there are of `name`.
    pub fn count(&self, name: &str) -> usize {
        self.samples
            .keys()
            .filter(|k| k.split('{').next() == Some(name))
            .count()
    }
}

/// `name{a="1",b="2"}` with labels sorted by name.
pub fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut l: Vec<_> = labels.to_vec();
    l.sort();
    if l.is_empty() {
        return name.to_string();
    }
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

fn canonical(series: &str) -> String {
    let Some((name, rest)) = series.split_once('{') else {
        return series.to_string();
    };
    let inner = rest.trim_end_matches('}');
    let mut pairs: Vec<(String, String)> = Vec::new();
    // Label values here never contain `",` so a plain split is enough.
    for part in inner.split("\",") {
        if let Some((k, v)) = part.split_once("=\"") {
            pairs.push((k.to_string(), v.trim_end_matches('"').to_string()));
        }
    }
    pairs.sort();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    key(name, &refs)
}

/// On Windows, says on stderr that `check` is skipped and why, and returns `true`: for the
/// checks that start a Linux program (promtool), which the Windows test binaries, run under
/// Wine by scripts/windows.sh, cannot start. Elsewhere returns `false`.
pub fn skip_on_windows(check: &str, reason: &str) -> bool {
    if cfg!(windows) {
        eprintln!("SKIPPED on Windows: {check}: {reason}");
    }
    cfg!(windows)
}

/// Runs `promtool check metrics` on a scrape when promtool is installed. With
/// `XMAIL_REQUIRE_PROMTOOL=1` (set by the test script) a missing promtool fails the test.
/// Not on Windows (promtool is Debian's Linux binary there).
pub fn promtool_check_metrics(text: &str) {
    if skip_on_windows(
        "promtool check metrics",
        "promtool is a Linux program (the Linux tests run it)",
    ) {
        return;
    }
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("XMAIL_REQUIRE_PROMTOOL").as_deref() == Ok("1") {
                panic!("promtool is required (XMAIL_REQUIRE_PROMTOOL=1) but cannot run: {e}");
            }
            eprintln!(
                "promtool not installed: `promtool check metrics` skipped (scripts/test.sh installs it)"
            );
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics:\n{said}"
    );
}
