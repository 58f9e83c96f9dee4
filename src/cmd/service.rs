//! `service`: xmail_exporter as a Windows service (Windows only).
//!
//! `install` registers the service `xmail_exporter` with the Service Control Manager (SCM):
//! automatic start, the virtual account `NT SERVICE\xmail_exporter` (no password, no
//! rights but those granted to it by name), and a command line of `service run` followed by
//! the serving flags given to `install`, checked first as `run` will parse them.
//! `uninstall` stops and removes it. `run` is what the SCM starts: it connects to the
//! service dispatcher, reports Running, serves as the default command does
//! ([`super::serve::run_until`]) and turns Stop and Shutdown into the same graceful
//! shutdown SIGTERM causes, then reports Stopped.
//!
//! A service has no console, so `run` logs to a file: `--log.file`, or
//! [`default_log_file`]. A file rather than the event log: the lines stay the logfmt (or
//! JSON) every other platform writes, readable with any editor and by log shippers, and the
//! event log would show them only through a registered message resource. When the log file
//! cannot be opened the service stops at once with service-specific exit code
//! [`EXIT_NO_LOG`]; when serving fails (a port in use, a bad flag value), with
//! [`EXIT_SERVE_FAILED`] after logging why. `sc query xmail_exporter` shows either code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{
    self, ServiceControlHandlerResult, ServiceStatusHandle,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use super::serve::{STOP_WITHIN, StopRequest};
use crate::cli::{Cli, Command, LogFormat, LogLevel, ServeArgs, ServiceAction, ServiceArgs};
use crate::{config, logging};

/// The service's name (`sc start xmail_exporter`).
pub const NAME: &str = "xmail_exporter";
/// The name the Services console shows.
pub const DISPLAY_NAME: &str = "XMail exporter for Prometheus";
/// The Services console's description.
pub const DESCRIPTION: &str = "Follows the XMail (and Nmail) logs and serves their metrics to Prometheus over HTTP (xmail_exporter).";
/// The virtual account the service runs as.
pub const ACCOUNT: &str = r"NT SERVICE\xmail_exporter";

/// Service-specific exit code: the log file could not be opened.
pub const EXIT_NO_LOG: u32 = 2;
/// Service-specific exit code: serving failed; the log says why.
pub const EXIT_SERVE_FAILED: u32 = 1;

const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_EXISTS: i32 = 1073;
const ERROR_SERVICE_MARKED_FOR_DELETE: i32 = 1072;

/// `%ProgramData%\xmail_exporter\xmail_exporter.log`.
pub fn default_log_file() -> PathBuf {
    let data = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
    Path::new(&data).join(NAME).join("xmail_exporter.log")
}

/// `service install` and `service uninstall`; `run` goes through [`run`].
pub fn manage(cli: &Cli, args: &ServiceArgs) -> anyhow::Result<ExitCode> {
    match &args.action {
        ServiceAction::Install { flags } => {
            // Flags before `--` configure this command; the service would run without them.
            if cli.config.is_some()
                || cli.log_file.is_some()
                || cli.log_level != LogLevel::Info
                || cli.log_format != LogFormat::Logfmt
            {
                bail!(
                    "put --config and --log.* after `--` (service install -- --config=C:\\...): flags before it are not stored for the service"
                );
            }
            install(flags)?
        }
        ServiceAction::Uninstall => uninstall()?,
        ServiceAction::Run { .. } => {
            bail!(
                "`service run` is started by the Service Control Manager, through cmd::service::run"
            )
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The SCM's error `e` as one line, with advice for the usual causes.
fn scm_error(what: &str, e: windows_service::Error) -> anyhow::Error {
    let io = match e {
        windows_service::Error::Winapi(io) => io,
        other => return anyhow::anyhow!("{what}: {other}"),
    };
    let advice = match io.raw_os_error() {
        Some(ERROR_ACCESS_DENIED) => "; run it from a command prompt opened as administrator",
        Some(ERROR_SERVICE_EXISTS) => {
            "; the service is installed already: `xmail_exporter service uninstall` first to change its flags"
        }
        Some(ERROR_SERVICE_DOES_NOT_EXIST) => "; the service is not installed",
        Some(ERROR_SERVICE_MARKED_FOR_DELETE) => {
            "; the service is being removed: close the Services console (services.msc) and try again"
        }
        _ => "",
    };
    anyhow::anyhow!("{what}: {io}{advice}")
}

/// The flags `run` will get, parsed as it will parse them; relative paths refused (the SCM
/// starts services in C:\Windows\System32).
fn check_flags(flags: &[OsString]) -> anyhow::Result<Cli> {
    let argv = ["xmail_exporter", "service", "run"]
        .map(OsString::from)
        .into_iter()
        .chain(flags.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        anyhow::anyhow!(
            "the service flags after -- do not parse: {}; `xmail_exporter --help` lists them",
            first.trim_start_matches("error: ")
        )
    })?;
    let serve = run_args(&cli)
        .context("the service flags after -- must be serving flags, not a subcommand")?;
    let mut paths: Vec<(&str, &Path)> = vec![
        ("--xmail.log-dir", &serve.xmail_log_dir),
        ("--xmail.spool-dir", &serve.spool_dir),
        ("--webmail.log-dir", &serve.webmail_log_dir),
    ];
    for (flag, p) in [
        ("--tail.state-file", &serve.state_file),
        ("--web.config.file", &serve.web_config_file),
        ("--config", &cli.config),
        ("--log.file", &cli.log_file),
    ] {
        if let Some(p) = p {
            paths.push((flag, p));
        }
    }
    for (flag, p) in paths {
        // Nmail's default (a Linux path) is left alone: without Nmail it stays missing.
        let default_webmail = Path::new(crate::cli::DEFAULT_WEBMAIL_LOG_DIR);
        if p != Path::new("") && p != default_webmail && !p.is_absolute() {
            bail!(
                "{flag} {} is a relative path: the service starts in C:\\Windows\\System32, so give a full path such as C:\\MailRoot\\logs",
                p.display()
            );
        }
    }
    Ok(cli)
}

/// The serving flags of `service run`.
fn run_args(cli: &Cli) -> Option<&ServeArgs> {
    match &cli.command {
        Some(Command::Service(ServiceArgs {
            action: ServiceAction::Run { serve },
        })) => Some(serve.as_ref()),
        _ => None,
    }
}

fn install(flags: &[OsString]) -> anyhow::Result<()> {
    let parsed = check_flags(flags)?;
    let exe = std::env::current_exe().context("cannot find the path of this program")?;
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(|e| scm_error("cannot connect to the Service Control Manager", e))?;
    let log = log_file_in(flags);
    let mut launch_arguments = vec![OsString::from("service"), OsString::from("run")];
    launch_arguments.extend(flags.iter().cloned());
    // Stored even when it is the default: the SCM's environment may name another
    // %ProgramData%, and the Services console then shows where the log is.
    if !has_log_file(flags) {
        let mut flag = OsString::from("--log.file=");
        flag.push(&log);
        launch_arguments.push(flag);
    }
    let info = ServiceInfo {
        name: NAME.into(),
        display_name: DISPLAY_NAME.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe.clone(),
        launch_arguments,
        dependencies: vec![],
        account_name: Some(ACCOUNT.into()),
        account_password: None,
    };
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG)
        .map_err(|e| scm_error("cannot register the service xmail_exporter", e))?;
    service
        .set_description(DESCRIPTION)
        .map_err(|e| scm_error("cannot set the service's description", e))?;
    println!(
        "installed the service {NAME} (automatic start, account {ACCOUNT}) to run {}",
        exe.display()
    );
    println!("it logs to {}", log.display());
    println!("before starting it, let {ACCOUNT} read what it reads and write its log:");
    if let Some(serve) = run_args(&parsed) {
        for dir in [
            &serve.xmail_log_dir,
            &serve.spool_dir,
            &serve.webmail_log_dir,
        ] {
            if dir != Path::new("") && dir != Path::new(crate::cli::DEFAULT_WEBMAIL_LOG_DIR) {
                println!(
                    "  icacls \"{}\" /grant \"{ACCOUNT}:(OI)(CI)RX\"",
                    dir.display()
                );
            }
        }
    }
    let mut writable = vec![log.parent().unwrap_or(Path::new("")).to_path_buf()];
    if let Some(state) = run_args(&parsed).and_then(|s| s.state_file.as_deref()) {
        writable.extend(state.parent().map(Path::to_path_buf));
    }
    writable.dedup();
    for dir in writable {
        println!("  mkdir \"{}\"", dir.display());
        println!(
            "  icacls \"{}\" /grant \"{ACCOUNT}:(OI)(CI)M\"",
            dir.display()
        );
    }
    println!("then: sc start {NAME}");
    Ok(())
}

/// Whether `flags` give --log.file.
fn has_log_file(flags: &[OsString]) -> bool {
    flags.iter().any(|f| {
        let f = f.to_string_lossy();
        f == "--log.file" || f.starts_with("--log.file=")
    })
}

/// The log file the installed service will use.
fn log_file_in(flags: &[OsString]) -> PathBuf {
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        let f = f.to_string_lossy();
        if let Some(v) = f.strip_prefix("--log.file=") {
            return PathBuf::from(v);
        }
        if f == "--log.file"
            && let Some(v) = it.next()
        {
            return PathBuf::from(v);
        }
    }
    default_log_file()
}

fn uninstall() -> anyhow::Result<()> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(|e| scm_error("cannot connect to the Service Control Manager", e))?;
    let service = manager
        .open_service(
            NAME,
            ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
        )
        .map_err(|e| scm_error("cannot open the service xmail_exporter", e))?;
    let status = service
        .query_status()
        .map_err(|e| scm_error("cannot query the service xmail_exporter", e))?;
    if status.current_state != ServiceState::Stopped {
        if status.current_state != ServiceState::StopPending {
            service
                .stop()
                .map_err(|e| scm_error("cannot stop the service xmail_exporter", e))?;
        }
        let deadline = Instant::now() + STOP_WITHIN + Duration::from_secs(6);
        loop {
            let state = service
                .query_status()
                .map_err(|e| scm_error("cannot query the service xmail_exporter", e))?
                .current_state;
            if state == ServiceState::Stopped {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the service xmail_exporter did not stop within {}s (it is {state:?}): end it in Task Manager, then uninstall again",
                    (STOP_WITHIN + Duration::from_secs(6)).as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        println!("stopped the service {NAME}");
    }
    service
        .delete()
        .map_err(|e| scm_error("cannot remove the service xmail_exporter", e))?;
    println!("removed the service {NAME}; its log and state files stay");
    Ok(())
}

/// What `service_main` needs, set once before the dispatcher starts.
struct Run {
    cli: Cli,
    /// The log file could not be opened: the service stops with [`EXIT_NO_LOG`].
    log_failed: bool,
}

static RUN: OnceLock<Run> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// `service run`: opens the log, then hands this thread to the service dispatcher until
/// the service stops.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let log = cli.log_file.clone().unwrap_or_else(default_log_file);
    let log_failed = match logging::init_file(cli.log_level, cli.log_format, &log) {
        Ok(()) => false,
        Err(e) => {
            // Seen when run from a console; the SCM shows the exit code.
            eprintln!("xmail_exporter: {e:#}");
            true
        }
    };
    let _ = RUN.set(Run { cli, log_failed });
    match service_dispatcher::start(NAME, ffi_service_main) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(windows_service::Error::Winapi(e))
            if e.raw_os_error() == Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) =>
        {
            bail!(
                "`service run` is for the Service Control Manager: start the service with `sc start {NAME}`, or run xmail_exporter without `service run` to serve from this console"
            )
        }
        Err(e) => Err(scm_error("cannot connect to the service dispatcher", e)),
    }
}

fn service_main(_arguments: Vec<OsString>) {
    // Arguments given to `sc start` are ignored: the flags are those stored at install.
    let Some(run) = RUN.get() else { return };
    let Some(serve) = run_args(&run.cli) else {
        return;
    };
    if let Err(e) = serve_as_service(run, serve) {
        tracing::error!("{e:#}");
    }
}

fn status(state: ServiceState, exit: ServiceExitCode, wait_hint: Duration) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: exit,
        checkpoint: 0,
        wait_hint,
        process_id: None,
    }
}

fn serve_as_service(run: &Run, serve: &ServeArgs) -> anyhow::Result<()> {
    let stop = StopRequest::default();
    let handle_slot = Arc::new(OnceLock::<ServiceStatusHandle>::new());
    let handler = {
        let stop = stop.clone();
        let handle_slot = handle_slot.clone();
        move |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown => {
                tracing::info!(control = ?control, "the Service Control Manager asks to stop");
                if let Some(h) = handle_slot.get() {
                    let _ = h.set_service_status(status(
                        ServiceState::StopPending,
                        ServiceExitCode::NO_ERROR,
                        STOP_WITHIN + Duration::from_secs(2),
                    ));
                }
                stop.request();
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        }
    };
    let handle = service_control_handler::register(NAME, handler)
        .map_err(|e| scm_error("cannot register the service's control handler", e))?;
    let _ = handle_slot.set(handle);
    let stopped = |exit: ServiceExitCode| {
        handle
            .set_service_status(status(ServiceState::Stopped, exit, Duration::ZERO))
            .map_err(|e| scm_error("cannot report the service stopped", e))
    };
    if run.log_failed {
        return stopped(ServiceExitCode::ServiceSpecific(EXIT_NO_LOG));
    }
    handle
        .set_service_status(status(
            ServiceState::Running,
            ServiceExitCode::NO_ERROR,
            Duration::ZERO,
        ))
        .map_err(|e| scm_error("cannot report the service running", e))?;
    tracing::info!(service = NAME, "running as a Windows service");
    let result = config::Settings::load(run.cli.config.as_deref())
        .and_then(|settings| super::serve::run_until(serve, settings, &stop));
    match result {
        Ok(()) => {
            tracing::info!(service = NAME, "service stopped");
            stopped(ServiceExitCode::NO_ERROR)
        }
        Err(e) => {
            tracing::error!(exit_code = EXIT_SERVE_FAILED, "{e:#}; the service stops");
            stopped(ServiceExitCode::ServiceSpecific(EXIT_SERVE_FAILED))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn install_flags_are_checked_as_run_parses_them() {
        check_flags(&flags(&[
            r"--xmail.log-dir=C:\MailRoot\logs",
            "--web.listen-address=:10587",
            "--log.level=debug",
            "--webmail.log-dir=",
        ]))
        .unwrap();
        check_flags(&[]).unwrap();
        let e = check_flags(&flags(&["--no-such-flag"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--no-such-flag") && !e.contains('\n'), "{e}");
        let e = check_flags(&flags(&[r"--xmail.log-dir=logs"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--xmail.log-dir logs is a relative path"), "{e}");
        let e = check_flags(&flags(&["--config", "x.yml"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--config"), "{e}");
    }

    #[test]
    fn the_log_file_is_the_flag_or_the_default() {
        assert_eq!(
            log_file_in(&flags(&[r"--log.file=D:\logs\x.log"])),
            PathBuf::from(r"D:\logs\x.log")
        );
        assert_eq!(
            log_file_in(&flags(&["--log.file", r"D:\y.log"])),
            PathBuf::from(r"D:\y.log")
        );
        assert_eq!(log_file_in(&[]), default_log_file());
        assert!(has_log_file(&flags(&["--log.file", "x"])));
        assert!(has_log_file(&flags(&["--log.file=x"])));
        assert!(!has_log_file(&flags(&[
            "--log.filex=x",
            "--log.level=info"
        ])));
        assert!(default_log_file().ends_with(r"xmail_exporter\xmail_exporter.log"));
    }
}
