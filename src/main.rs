//! The `xmail_exporter` binary: parse the flags, start logging, run one command.

use std::process::ExitCode;

use clap::Parser;
use xmail_exporter::cli::{Cli, Command};
use xmail_exporter::{cmd, config, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_level, cli.log_format);
    let result =
        config::Settings::load(cli.config.as_deref()).and_then(|settings| match cli.command {
            None => cmd::serve::run(&cli.serve, settings).map(|()| ExitCode::SUCCESS),
            Some(Command::Report(args)) => cmd::report::run(&args, settings),
            Some(Command::Trace(args)) => cmd::trace::run(&args),
        });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xmail_exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}
