//! The default command: follow the log directories and serve `/metrics`.
//!
//! Start-up order: metrics, listeners (so a port clash fails before anything else runs),
//! the tail thread, the HTTP server. On SIGINT or SIGTERM the server stops accepting, open
//! requests finish, then the tail thread stops.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::ServeArgs;
use crate::config::Settings;
use crate::http::{self, WebState};
use crate::metrics::Recorder;
use crate::tail::checkpoint::{self, Saver, Shared};
use crate::tail::discover::KindSet;
use crate::tail::file::StartAt;
use crate::tail::watch::DirWatcher;
use crate::tail::{DirSpec, Tailer};
use crate::web_config::WebConfigSource;

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

/// Runs until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs, settings: Settings) -> anyhow::Result<()> {
    if !args.telemetry_path.starts_with('/') {
        anyhow::bail!(
            "bad --web.telemetry-path {:?}: it must start with /",
            args.telemetry_path
        );
    }
    let mut recorder =
        Recorder::from_settings(&settings, true).context("cannot register metrics")?;
    let registry = recorder.registry().clone();
    let spool_metrics = recorder.metrics().spool.clone();
    let start = if args.from_beginning {
        StartAt::Beginning
    } else {
        StartAt::End
    };
    let mut tailer = Tailer::new(dir_specs(args), start).with_grace(args.drain_grace);
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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut listeners = Vec::new();
        for address in &args.listen_addresses {
            listeners.push(http::bind(address).await?);
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
        )?;
        let state = Arc::new(WebState {
            registry,
            telemetry_path: args.telemetry_path.clone(),
            ready,
            saver,
            web,
            read_header_timeout: args.read_header_timeout,
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
        http::serve(listeners, state, shutdown_signal()).await;
        tracing::info!("shutting down");
        tail.stop();
        if let Some(s) = spool {
            s.stop();
        }
        Ok(())
    })
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
}

impl TailThread {
    /// Starts the thread. With a state file, the files are found and their start offsets
    /// saved first, before anything is counted.
    pub fn start(
        mut tailer: Tailer,
        mut recorder: Recorder,
        ready: Arc<AtomicBool>,
        poll_interval: Duration,
        saver: Option<&Saver>,
    ) -> anyhow::Result<TailThread> {
        if let Some(saver) = saver {
            tailer.discover(&mut recorder, Instant::now());
            publish_dirs(&tailer, &recorder);
            saver.save_now().with_context(|| {
                format!(
                    "cannot write the state file {}: check that its directory exists and this user may write there, or drop --tail.state-file",
                    saver.path().display()
                )
            })?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let mut watcher = DirWatcher::new(wake.clone());
        let stop2 = stop.clone();
        let handle = thread::Builder::new()
            .name("tail".into())
            .spawn(move || {
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
        Ok(TailThread { stop, wake, handle })
    }

    /// Stops the thread after its current pass.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.wake.try_send(());
        if self.handle.join().is_err() {
            tracing::error!("the tail thread panicked");
        }
    }
}

/// Sets `xmail_exporter_log_directory_exists` from the tailer's last look at each directory.
fn publish_dirs(tailer: &Tailer, recorder: &Recorder) {
    let exporter = &recorder.metrics().exporter;
    for (_, kinds, exists) in tailer.log_dirs() {
        if let Some(exists) = exists {
            for kind in kinds.iter() {
                exporter.set_dir_exists(kind, exists);
            }
        }
    }
}

/// The thread that counts the spool every interval.
pub struct SpoolThread {
    stop: mpsc::Sender<()>,
    handle: thread::JoinHandle<()>,
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
        let handle = thread::Builder::new().name("spool".into()).spawn(move || {
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
        Ok(SpoolThread { stop, handle })
    }

    /// Stops the thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}
