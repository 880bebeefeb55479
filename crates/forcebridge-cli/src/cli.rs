//! The command-line grammar (clap derive types). No behaviour lives here.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Connect Salesforce orgs to the systems and assistants around them.
#[derive(Debug, Parser)]
#[command(name = "forcebridge", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check, format and inspect SOQL queries and SOSL searches, offline.
    #[command(subcommand)]
    Soql(SoqlCommand),
    /// Run the local org: a Salesforce-compatible server for development and tests.
    ///
    /// Prints the URL and the login details, then serves until Ctrl-C.
    Emulator(EmulatorArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// The port to listen on; 0 picks a free one. [default: 8443 with --tls, else 8080]
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// The address to listen on. Anything but a loopback address lets other machines connect.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// Serve HTTPS, with a certificate made for localhost by a local certificate authority.
    #[arg(long)]
    pub(crate) tls: bool,
    /// Where to write the certificate clients must trust. [default: tls/ca.pem in --data-dir,
    /// else a temporary directory]
    #[arg(long, value_name = "PATH", requires = "tls")]
    pub(crate) cert_file: Option<PathBuf>,
    /// An org file (TOML): users, connected apps, limits, faults, custom objects and fields,
    /// validation rules, generated data.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Fill the org with generated data from this seed; the same seed gives the same org.
    #[arg(long, value_name = "S")]
    pub(crate) seed: Option<String>,
    /// Roughly how many records to generate (with a seed). [default: 1000]
    #[arg(long, value_name = "N")]
    pub(crate) records: Option<u64>,
    /// Keep the org in this directory across restarts (an org already there is loaded, and
    /// no data is generated).
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// How long access tokens stay valid, in seconds. [default: 7200]
    #[arg(long, value_name = "SECS")]
    pub(crate) token_lifetime: Option<u64>,
    /// API requests allowed per day before REQUEST_LIMIT_EXCEEDED. [default: 100000]
    #[arg(long, value_name = "N")]
    pub(crate) daily_api_requests: Option<u64>,
    /// Share of API requests (0 to 1) answered 503 SERVER_UNAVAILABLE.
    #[arg(long, value_name = "F", value_parser = share)]
    pub(crate) error_rate: Option<f64>,
    /// Share of API requests (0 to 1) whose connection is cut before the response ends.
    #[arg(long, value_name = "F", value_parser = share)]
    pub(crate) reset_rate: Option<f64>,
    /// Delay added to every API response, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub(crate) latency_ms: Option<u64>,
    /// Approve OAuth authorization requests without showing the login page.
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// Print the connection details as one JSON object on one line.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A share between 0 and 1.
fn share(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SoqlCommand {
    /// Exit 0 silently if the statement is valid; otherwise print where it is wrong and exit 1.
    Check(SoqlInput),
    /// Print the statement formatted over several lines (or on one line with --one-line).
    Fmt {
        #[command(flatten)]
        input: SoqlInput,
        /// Print the canonical one-line form instead.
        #[arg(long)]
        one_line: bool,
    },
    /// Print the syntax tree.
    Parse(SoqlInput),
    /// Print what a query reads: its object, fields, relationships, aggregates and limit.
    Info(SoqlInput),
}

#[derive(Debug, Args)]
pub(crate) struct SoqlInput {
    /// The SOQL query or SOSL search (SOSL starts with FIND). Use `-` to read it from stdin.
    #[arg(value_name = "QUERY")]
    pub(crate) query: String,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}
