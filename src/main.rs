//! The `xmail_exporter` binary: parse the flags, start logging, run one command.

use std::process::ExitCode;

use clap::Parser;
use xmail_exporter::cli::{Cli, Command};
use xmail_exporter::{cmd, config, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_level, cli.log_format);
    let settings = || config::Settings::load(cli.config.as_deref());
    let result = match cli.command {
        None => settings().and_then(|s| cmd::serve::run(&cli.serve, s).map(|()| ExitCode::SUCCESS)),
        Some(Command::Report(ref args)) => settings().and_then(|s| cmd::report::run(args, s)),
        // `trace` uses no setting: a broken config file does not stop it.
        Some(Command::Trace(ref args)) => cmd::trace::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xmail_exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}
