//! The `ecomshare` binary: parses the command line, starts logging to
//! stderr (`ecomshare::cli::logging`) and runs one subcommand
//! (`ecomshare::cli`). Results go to stdout as JSON; a failure prints
//! `{"error":{"code","message"}}` and exits with its code.

use clap::Parser;
use ecomshare::cli::args::{Cli, run};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    ecomshare::cli::logging::init(cli.log_format());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not `println!`: a reader that went away (`| head`) is no panic.
            let _ = writeln!(std::io::stdout(), "{}", e.to_json());
            let code = e.exit_code();
            tracing::error!("{:#}", anyhow::Error::from(e));
            let _ = std::io::stdout().flush();
            ExitCode::from(code)
        }
    }
}
