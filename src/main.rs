//! The `xmail_exporter` binary: parse the flags, start logging, run one command.

use std::process::ExitCode;

use clap::Parser;
use xmail_exporter::cli::{Cli, Command};
use xmail_exporter::{cmd, config, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The Windows service opens its own log (it has no console) before the dispatcher.
    #[cfg(windows)]
    if let Some(Command::Service(xmail_exporter::cli::ServiceArgs {
        action: xmail_exporter::cli::ServiceAction::Run { .. },
    })) = cli.command
    {
        return finish(cmd::service::run(cli));
    }
    match &cli.log_file {
        None => logging::init(cli.log_level, cli.log_format),
        Some(path) => {
            if let Err(e) = logging::init_file(cli.log_level, cli.log_format, path) {
                eprintln!("xmail_exporter: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    let settings = || config::Settings::load(cli.config.as_deref());
    finish(match cli.command {
        None => settings().and_then(|s| cmd::serve::run(&cli.serve, s).map(|()| ExitCode::SUCCESS)),
        Some(Command::Report(ref args)) => settings().and_then(|s| cmd::report::run(args, s)),
        // `trace` uses no setting: a broken config file does not stop it.
        Some(Command::Trace(ref args)) => cmd::trace::run(args),
        #[cfg(windows)]
        Some(Command::Service(ref args)) => cmd::service::manage(&cli, args),
    })
}

/// The exit code, with an error as one line on stderr.
fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xmail_exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}
