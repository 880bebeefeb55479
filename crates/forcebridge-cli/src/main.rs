//! The `forcebridge` binary: parses the command line, runs one command, and turns the outcome
//! into output and an exit code. Commands live in `commands/`; everything they print goes
//! through `output`, which is the only place that writes to the terminal.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Soql(command) => commands::soql::run(command),
        cli::Command::Emulator(args) => commands::emulator::run(args),
    };
    output::finish(result)
}
