//! The `forcebridge` binary: parses the command line, runs one command, and turns the outcome
//! into output and an exit code. Commands live in `commands/`; everything they print goes
//! through `output` (messages) and `rows` (records), the only places that write to the terminal.

mod cli;
mod commands;
mod input;
mod org;
mod output;
mod rows;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::{connect, data};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Soql(command) => commands::soql::run(command),
        Command::Emulator(args) => commands::emulator::run(args),
        command => {
            install_logging(cli.global.verbose);
            run_async(cli.global, command)
        }
    };
    output::finish(result)
}

fn run_async(global: cli::GlobalArgs, command: Command) -> anyhow::Result<output::Outcome> {
    // One worker runs the network (requests, and the connections behind them) while this
    // thread writes output and the blocking pool checks pages. With two workers, a
    // connection and the request reading from it take turns across threads for every chunk
    // of a body: a 200,000-row query made 8,000 to 10,000 context switches instead of about
    // 1,000, and cost 10 to 15% more CPU.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let prints_only = prints_only(&command);
    runtime.block_on(async move {
        let run = run_command(&global, command);
        if !prints_only {
            return run.await;
        }
        // Nobody reads any more (`| head` is done): stop at once, quietly, rather than fetch
        // (and retry) what cannot be shown.
        tokio::select! {
            outcome = run => outcome,
            () = output::stdout_closed() => Ok(output::Exit::Success),
        }
    })
}

/// Whether a command's only effect is what it prints, so that it may stop as soon as its
/// reader has gone. A write (`create`, a bulk load, a POST through `api`) always runs to its
/// end, so that what it did is known.
fn prints_only(command: &Command) -> bool {
    use crate::cli::BulkCommand;
    match command {
        Command::Query(_)
        | Command::Get(_)
        | Command::Describe(_)
        | Command::Search(_)
        | Command::Limits(_) => true,
        Command::Api(args) => ["GET", "HEAD"].contains(&args.method.to_ascii_uppercase().as_str()),
        Command::Bulk(BulkCommand::Export(args)) => args.output.is_none(),
        Command::Bulk(BulkCommand::Results(_) | BulkCommand::List(_) | BulkCommand::Status(_)) => {
            true
        }
        _ => false,
    }
}

async fn run_command(
    global: &cli::GlobalArgs,
    command: Command,
) -> anyhow::Result<output::Outcome> {
    match command {
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Connect(command) => connect::run(global, command).await,
        Command::Query(args) => data::query(global, args).await,
        Command::Get(args) => data::get(global, args).await,
        Command::Create(args) => data::create(global, args).await,
        Command::Update(args) => data::update(global, args).await,
        Command::Upsert(args) => data::upsert(global, args).await,
        Command::Delete(args) => data::delete(global, args).await,
        Command::Describe(args) => data::describe(global, args).await,
        Command::Search(args) => data::search(global, args).await,
        Command::Limits(args) => data::limits(global, args).await,
        Command::Api(args) => data::api(global, args).await,
        Command::Bulk(command) => commands::bulk::run(global, command).await,
        Command::Catalog(args) => commands::catalog::run(global, args).await,
        Command::Sync(args) => commands::sync::run(global, args).await,
        Command::Push(args) => commands::push::run(global, args).await,
        Command::Mcp(args) => commands::mcp::run(global, args).await,
        Command::Soql(_) | Command::Emulator(_) => unreachable!("handled synchronously"),
    }
}

/// Logs on stderr: warnings by default, more with each `-v`; `RUST_LOG` overrides both.
fn install_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
