//! The `ecomshare` binary: logs to stderr, parses the command line and runs
//! one subcommand (`ecomshare::cli`). Results go to stdout as JSON; a
//! failure prints `{"error":{"code","message"}}` and exits with its code.

use clap::Parser;
use ecomshare::cli::args::{Cli, run};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ECOMSHARE_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{}", e.to_json());
            let code = e.exit_code();
            tracing::error!("{:#}", anyhow::Error::from(e));
            let _ = std::io::stdout().flush();
            ExitCode::from(code)
        }
    }
}
