//! The default command: follow the log directories and serve `/metrics`.
//!
//! Start-up order: the open file limit raised, metrics, listeners (so a port clash fails
//! before anything else runs), the tail thread, the HTTP server. On SIGINT or SIGTERM (or a
//! [`StopRequest`]: the Windows service's stop) the server stops accepting, open requests
//! finish, then the tail and spool threads are asked to stop; whatever they are doing, the
//! process exits [`STOP_WITHIN`] after the signal (a thread that did not stop by then is
//! left behind, with one line in the log).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::ServeArgs;
use crate::config::Settings;
use crate::metrics::Recorder;
use crate::parse::LogKind;
use crate::read::discover::KindSet;
use crate::recent::Recent;
use crate::tail::checkpoint::{self, Saver, Shared};
use crate::tail::file::StartAt;
use crate::tail::watch::DirWatcher;
use crate::tail::{DirSpec, Tailer};
use crate::web::console::Console;
use crate::web::reload::WebConfigSource;
use crate::web::{self, WebState};

/// After SIGTERM, the tail and spool threads get until this long after the signal to stop
/// (at least [`STOP_AT_LEAST`] each); then the process exits without them.
pub const STOP_WITHIN: Duration = Duration::from_secs(4);

/// The least time a thread is given to stop, even when the HTTP side used up
/// [`STOP_WITHIN`] closing its connections.
pub const STOP_AT_LEAST: Duration = Duration::from_millis(250);

/// The directories to follow, from the flags.
pub fn dir_specs(args: &ServeArgs) -> Vec<DirSpec> {
    let mut dirs = vec![DirSpec {
        path: args.xmail_log_dir.clone(),
        kinds: KindSet::XMAIL,
    }];
    if args.webmail_log_dir != PathBuf::new() {
        dirs.push(DirSpec {
            path: args.webmail_log_dir.clone(),
            kinds: KindSet::WEBMAIL,
        });
    }
    dirs
}

/// A way for another thread to stop a running [`run_until`] as SIGTERM does: the Windows
/// service's answer to the Service Control Manager's Stop and Shutdown.
#[derive(Clone, Debug, Default)]
pub struct StopRequest(Arc<tokio::sync::Notify>);

impl StopRequest {
    /// Asks the server to shut down; a request made before it waits is kept.
    pub fn request(&self) {
        self.0.notify_one();
    }

    async fn requested(&self) {
        self.0.notified().await;
    }
}

/// Runs until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs, settings: Settings) -> anyhow::Result<()> {
    run_until(args, settings, &StopRequest::default())
}

/// Runs until SIGINT, SIGTERM or `stop`.
pub fn run_until(args: &ServeArgs, settings: Settings, stop: &StopRequest) -> anyhow::Result<()> {
    if !args.telemetry_path.starts_with('/') {
        anyhow::bail!(
            "bad --web.telemetry-path {:?}: it must start with /",
            args.telemetry_path
        );
    }
    let mut recorder =
        Recorder::from_settings(&settings, true).context("cannot register metrics")?;
    crate::read::open::raise_fd_limit();
    let registry = recorder.registry().clone();
    let spool_metrics = recorder.metrics().spool.clone();
    let start = if args.from_beginning {
        StartAt::Beginning
    } else {
        StartAt::End
    };
    let stop_threads = Arc::new(AtomicBool::new(false));
    let open_cap = crate::read::open::open_file_cap(crate::tail::MAX_OPEN_FILES);
    tracing::debug!(files = open_cap, "at most this many log files open at once");
    let mut tailer = Tailer::new(dir_specs(args), start)
        .with_grace(args.drain_grace)
        .with_open_cap(open_cap)
        .with_stop(stop_threads.clone());
    let saver = match &args.state_file {
        None => None,
        Some(path) => {
            let previous = match checkpoint::load(path) {
                Ok(prev) => prev,
                Err(msg) => {
                    tracing::error!("{msg}");
                    None
                }
            };
            if let Some(prev) = &previous {
                tracing::info!(path = %path.display(), "resuming from the state file");
                for (&kind, &t) in &prev.last_event {
                    recorder.restore_event_time(kind, t);
                }
            }
            let shared = Shared::default();
            tailer = tailer.with_checkpoints(shared.clone(), previous);
            Some(Arc::new(Saver::new(path.clone(), shared)))
        }
    };

    let web = Arc::new(match &args.web_config_file {
        Some(path) => WebConfigSource::load(path)?,
        None => WebConfigSource::plain(),
    });
    let console = if args.enable_console {
        let recent = Arc::new(Recent::new());
        recorder = recorder.with_recent(recent.clone());
        Some(Arc::new(console(args, &settings, &web, recent)?))
    } else {
        None
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let mut listeners = Vec::new();
        for address in &args.listen_addresses {
            listeners.push(web::bind(address).await?);
        }
        tracing::info!(
            version = crate::VERSION,
            revision = crate::REVISION,
            xmail_log_dir = %args.xmail_log_dir.display(),
            webmail_log_dir = %args.webmail_log_dir.display(),
            timezone = settings.tz.iana_name().unwrap_or("system"),
            "starting xmail_exporter"
        );
        for l in &listeners {
            if let Ok(a) = l.local_addr() {
                tracing::info!(address = %a, "listening");
            }
        }
        let ready = Arc::new(AtomicBool::new(false));
        let tail = TailThread::start(
            tailer,
            recorder,
            ready.clone(),
            args.poll_interval,
            saver.as_deref(),
            stop_threads,
        )?;
        let state = Arc::new(WebState {
            registry,
            telemetry_path: args.telemetry_path.clone(),
            ready,
            saver,
            web,
            read_header_timeout: args.read_header_timeout,
            write_timeout: args.write_timeout,
            gathers: Default::default(),
            console,
        });
        let spool = match spool_metrics {
            Some(m) if args.spool_dir != PathBuf::new() => Some(
                SpoolThread::start(
                    args.spool_dir.clone(),
                    args.spool_scan_interval,
                    args.spool_scan_timeout,
                    m,
                )
                .context("cannot start the spool thread")?,
            ),
            _ => None,
        };
        let signalled = Arc::new(Mutex::new(None::<Instant>));
        let signal = {
            let signalled = signalled.clone();
            async move {
                tokio::select! {
                    () = shutdown_signal() => {},
                    () = stop.requested() => {},
                }
                *signalled.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            }
        };
        web::serve(listeners, state, signal).await;
        let since = signalled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(Instant::now);
        tracing::info!("shutting down");
        let deadline = since + STOP_WITHIN;
        tail.stop(deadline);
        if let Some(s) = spool {
            s.stop(deadline);
        }
        anyhow::Ok(())
    });
    // A request still waiting for the tail lock (or a save) must not hold up the exit.
    runtime.shutdown_timeout(STOP_AT_LEAST);
    result
}

/// Waits until `done` is closed (the thread ended) or `deadline` passes (at least
/// [`STOP_AT_LEAST`] from now). `false`, with one line in the log, when it did not end.
fn wait_for_end(done: &mpsc::Receiver<()>, deadline: Instant, what: &str) -> bool {
    let limit = deadline
        .saturating_duration_since(Instant::now())
        .max(STOP_AT_LEAST);
    match done.recv_timeout(limit) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
        Err(RecvTimeoutError::Timeout) => {
            tracing::warn!(
                thread = what,
                waited = %humantime::format_duration(limit),
                "thread did not stop in time: exiting without it"
            );
            false
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The thread that owns the [`Tailer`] and the [`Recorder`]: it polls on every filesystem
/// event and at least every poll interval.
pub struct TailThread {
    stop: Arc<AtomicBool>,
    wake: mpsc::SyncSender<()>,
    handle: thread::JoinHandle<()>,
    /// Closed when the thread ends (its sender is dropped with the thread's state).
    done: mpsc::Receiver<()>,
}

impl TailThread {
    /// Starts the thread. With a state file, the files are found and their start offsets
    /// saved first, before anything is counted. `stop` (also given to the tailer, so a
    /// pass ends early) stops it.
    pub fn start(
        mut tailer: Tailer,
        mut recorder: Recorder,
        ready: Arc<AtomicBool>,
        poll_interval: Duration,
        saver: Option<&Saver>,
        stop: Arc<AtomicBool>,
    ) -> anyhow::Result<TailThread> {
        if let Some(saver) = saver {
            tailer.discover(&mut recorder, Instant::now());
            publish_dirs(&tailer, &recorder);
            if let Err(e) = saver.save_now() {
                let advice = match e.kind() {
                    std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::ReadOnlyFilesystem => {
                        "; check that its directory exists and this user may write there, or drop --tail.state-file"
                    }
                    _ => "; fix the cause or drop --tail.state-file",
                };
                anyhow::bail!(
                    "cannot write the state file {}: {e}{advice}",
                    saver.path().display()
                );
            }
        }
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let (done_tx, done) = mpsc::channel::<()>();
        let mut watcher = DirWatcher::new(wake.clone());
        let stop2 = stop.clone();
        let handle = thread::Builder::new()
            .name("tail".into())
            .spawn(move || {
                let _done = done_tx;
                while !stop2.load(Ordering::Relaxed) {
                    let pass = tailer.poll_once(&mut recorder, Instant::now());
                    publish_dirs(&tailer, &recorder);
                    ready.store(tailer.ready(), Ordering::Relaxed);
                    watcher.sync(tailer.dirs());
                    if pass.more {
                        continue;
                    }
                    match woken.recv_timeout(poll_interval) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => thread::sleep(poll_interval),
                    }
                }
            })
            .context("cannot start the tail thread")?;
        Ok(TailThread {
            stop,
            wake,
            handle,
            done,
        })
    }

    /// Stops the thread (its current pass ends at the next file), waiting for it until
    /// `deadline` (at least [`STOP_AT_LEAST`]); a thread that did not stop by then (stuck in
    /// a system call) is left behind, and said so in the log.
    pub fn stop(self, deadline: Instant) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.wake.try_send(());
        if wait_for_end(&self.done, deadline, "tail") && self.handle.join().is_err() {
            tracing::error!("the tail thread panicked");
        }
    }
}

/// Sets `xmail_exporter_log_directory_exists` and `xmail_exporter_log_files` from the
/// tailer's last look at each directory.
fn publish_dirs(tailer: &Tailer, recorder: &Recorder) {
    let exporter = &recorder.metrics().exporter;
    let mut files = [0usize; LogKind::COUNT];
    for f in tailer.files() {
        files[f.kind().index()] += 1;
    }
    for (_, kinds, exists) in tailer.log_dirs() {
        if let Some(exists) = exists {
            for kind in kinds.iter() {
                exporter.set_dir_exists(kind, exists);
                exporter.set_files(kind, files[kind.index()]);
            }
        }
    }
}

/// The mail desk of `--web.enable-console`, checked against the web config: it always asks
/// for a login, so it needs users in both files.
fn console(
    args: &ServeArgs,
    settings: &Settings,
    web: &WebConfigSource,
    recent: Arc<Recent>,
) -> anyhow::Result<Console> {
    let config = web.current();
    if !config.needs_auth() {
        anyhow::bail!(
            "--web.enable-console needs a login: add basic_auth_users to a --web.config.file (the desk always asks for a password)"
        );
    }
    if settings.console_users.is_empty() {
        anyhow::bail!(
            "--web.enable-console needs its users: list them under console: users: in --config (users of basic_auth_users, not the scrape user)"
        );
    }
    let known: Vec<&String> = settings
        .console_users
        .iter()
        .filter(|u| config.has_user(u))
        .collect();
    for u in &settings.console_users {
        if !config.has_user(u) {
            tracing::warn!(user = %u, "console.users names a user that basic_auth_users does not have: it cannot log in");
        }
    }
    if known.is_empty() {
        anyhow::bail!(
            "none of console.users is in basic_auth_users of --web.config.file: add them there with a bcrypt hash"
        );
    }
    tracing::info!(
        users = ?known,
        tls = config.tls.is_some(),
        "mail desk enabled at /: it shows addresses (personal data) to console users only, with their password; over plain HTTP it answers loopback clients only; searches are logged at debug level only"
    );
    Ok(Console::new(
        settings.clone(),
        args.xmail_log_dir.clone(),
        args.webmail_log_dir.clone(),
        recent,
    ))
}

/// The thread that counts the spool every interval.
pub struct SpoolThread {
    stop: mpsc::Sender<()>,
    handle: thread::JoinHandle<()>,
    /// Closed when the thread ends.
    done: mpsc::Receiver<()>,
}

impl SpoolThread {
    /// Starts counting `dir` into `metrics`.
    pub fn start(
        dir: PathBuf,
        interval: Duration,
        timeout: Duration,
        metrics: Arc<crate::metrics::spool::SpoolMetrics>,
    ) -> std::io::Result<SpoolThread> {
        let (stop, stopped) = mpsc::channel::<()>();
        let (done_tx, done) = mpsc::channel::<()>();
        let handle = thread::Builder::new().name("spool".into()).spawn(move || {
            let _done = done_tx;
            let mut scanner = crate::spool::TimedScanner::new(dir.clone(), timeout);
            let mut failing = false;
            loop {
                match scanner.scan() {
                    Ok(scan) => {
                        metrics.set(&scan);
                        if failing {
                            tracing::info!(dir = %dir.display(), "spool can be counted again");
                        }
                        failing = false;
                    }
                    Err(e) => {
                        metrics.scan_errors.inc();
                        if !failing {
                            tracing::warn!(
                                dir = %dir.display(),
                                error = %e,
                                "cannot count the spool: will retry; check --xmail.spool-dir, or set it to \"\" to not count it"
                            );
                        }
                        failing = true;
                    }
                }
                match stopped.recv_timeout(interval) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
            }
        })?;
        Ok(SpoolThread { stop, handle, done })
    }

    /// Stops the thread, waiting for it until `deadline` (at least [`STOP_AT_LEAST`]).
    pub fn stop(self, deadline: Instant) {
        let _ = self.stop.send(());
        if wait_for_end(&self.done, deadline, "spool") {
            let _ = self.handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_request_ends_the_server_as_sigterm_does() {
        let logs = tempfile::tempdir().unwrap();
        let dir = logs.path().to_str().unwrap();
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "xmail_exporter",
            "--xmail.log-dir",
            dir,
            "--webmail.log-dir",
            "",
            "--xmail.spool-dir",
            "",
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .unwrap();
        let stop = StopRequest::default();
        let asker = {
            let stop = stop.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(300));
                stop.request();
            })
        };
        let t0 = Instant::now();
        run_until(&cli.serve, Settings::load(None).unwrap(), &stop).unwrap();
        let took = t0.elapsed();
        asker.join().unwrap();
        assert!(
            took >= Duration::from_millis(300) && took < STOP_WITHIN + Duration::from_secs(2),
            "{took:?}"
        );
    }

    #[test]
    fn a_thread_that_does_not_end_is_left_behind_at_the_deadline() {
        let (tx, done) = mpsc::channel::<()>();
        let (release, wait) = mpsc::channel::<()>();
        let handle = thread::spawn(move || {
            let _done = tx;
            let _ = wait.recv();
        });
        let t0 = Instant::now();
        assert!(!wait_for_end(
            &done,
            t0 + Duration::from_millis(300),
            "test"
        ));
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // Past the deadline already: still the least time, not more.
        let t1 = Instant::now();
        assert!(!wait_for_end(&done, t0, "test"));
        assert!(t1.elapsed() >= STOP_AT_LEAST && t1.elapsed() < Duration::from_secs(3));
        release.send(()).unwrap();
        assert!(wait_for_end(
            &done,
            Instant::now() + Duration::from_secs(5),
            "test"
        ));
        handle.join().unwrap();
    }
}
