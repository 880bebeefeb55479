//! The command-line grammar (clap derive types). No behaviour lives here.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

/// Connect Salesforce orgs to the systems and assistants around them.
///
/// Start with `forcebridge demo` (no set-up, no network), then `forcebridge connect add` to
/// save a connection to a real org.
#[derive(Debug, Parser)]
#[command(name = "forcebridge", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub(crate) struct GlobalArgs {
    /// The saved connection to use. [default: the one FORCEBRIDGE_CONNECTION names, else the
    /// default connection]
    #[arg(short = 'c', long, global = true, value_name = "NAME")]
    pub(crate) connection: Option<String>,
    /// Work with the built-in local org instead: an in-process Salesforce-compatible org
    /// seeded with demo data, gone when the command ends.
    #[arg(long, global = true, conflicts_with = "connection")]
    pub(crate) local: bool,
    /// Log what happens on stderr; repeat for more (-v info, -vv debug, -vvv trace).
    /// Secrets never appear, at any level.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// A guided tour against the built-in local org: no set-up, no network.
    Demo(DemoArgs),
    /// Save, list, check and remove connections to orgs.
    #[command(subcommand)]
    Connect(ConnectCommand),
    /// Run a SOQL query and print the records.
    #[command(after_help = "Examples:
  forcebridge query \"SELECT Id, Name, Account.Name FROM Contact LIMIT 10\"
  forcebridge query \"SELECT Id, Email FROM Lead WHERE CreatedDate = TODAY\" --csv > leads.csv
  forcebridge query --all \"SELECT Id FROM Account WHERE IsDeleted = true\" --jsonl
  forcebridge query --tooling \"SELECT Id, Name FROM ApexClass\"")]
    Query(QueryArgs),
    /// Print one record by id, one `Field: value` line per field.
    ///
    /// A compound field (BillingAddress, a location) is left out when its component fields
    /// (BillingStreet, BillingCity, ...) are there, and shown as its parts when asked for
    /// alone. --json, --jsonl and --csv print the record as the org sent it.
    Get(GetArgs),
    /// Create a record from Field=value pairs or JSON, and print its id.
    Create(WriteArgs),
    /// Change fields of a record.
    Update(UpdateArgs),
    /// Create or update a record by an external id field.
    Upsert(UpsertArgs),
    /// Delete a record (it goes to the recycle bin).
    Delete(DeleteArgs),
    /// Describe an object's fields (type, length, nillable, createable, updateable, external
    /// id, unique, references, active picklist values), or list every object. --json prints
    /// the org's whole describe.
    Describe(DescribeArgs),
    /// Run a SOSL search.
    Search(SearchArgs),
    /// Print the org's limits and how much of each is used.
    Limits(FormatArgs),
    /// Send any REST request (`GET limits`, `GET /services/data/v60.0/sobjects/Account`).
    Api(ApiArgs),
    /// Load and export large amounts of data with Bulk API 2.0.
    #[command(subcommand)]
    Bulk(BulkCommand),
    /// Extract the org's metadata: objects, fields, picklists, formulas, relationships.
    ///
    /// Without an output option, lists the objects. Every output but --to and --svg goes to
    /// stdout (or --output); progress and the summary (with the API calls used) go to stderr.
    #[command(after_help = "Examples:
  forcebridge catalog --markdown -o dictionary.md
  forcebridge catalog --json --cache catalog.json > catalog.json.new
  forcebridge catalog --mermaid --from Opportunity --depth 2
  forcebridge catalog --svg er.svg --custom-only
  forcebridge catalog --to sqlite:catalog.db
  forcebridge catalog --diff catalog-last-week.json")]
    Catalog(CatalogArgs),
    /// Copy objects into SQLite or PostgreSQL, and keep them up to date on every run.
    ///
    /// The first run loads everything; later runs read what changed since the last (by
    /// SystemModstamp and Id), deletes included. Each page of rows is committed with the
    /// object's cursor, so a run stopped at any point continues where it stopped. Nothing is
    /// written to Salesforce. Exit code 4: the API budget was reached (run again later to
    /// continue).
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:
  forcebridge sync Account Contact
  forcebridge sync --to postgres://me@localhost/crm '*__c' --json
  forcebridge sync --config forcebridge.toml --max-api-calls 500
  forcebridge sync status"
    )]
    Sync(SyncArgs),
    /// Push rows from a file or a database into Salesforce (reverse ETL), each row applied once.
    ///
    /// Sources: a CSV or JSON-lines file, or a table (--table) or query (--query) in SQLite
    /// (sqlite:PATH) or PostgreSQL (postgres://...). Columns map to fields by name, or by
    /// --map COLUMN=FIELD; a column `Account.External_Id__c` sets the parent by its external
    /// id. Every row is checked against the describe first; invalid rows and the ones
    /// Salesforce refuses go to the rejects table and are retried next run. Only new and
    /// changed rows are sent (a fingerprint per key in the state database). Exit codes: 1 some
    /// rows were rejected, 4 the forecast is over --budget.
    #[command(after_help = "Examples:
  forcebridge push Account --from sqlite:warehouse.db --table accounts --upsert External_Id__c
  forcebridge push Account --from accounts.csv --upsert External_Id__c --state sqlite:push.db --dry-run
  forcebridge push Contact --from contacts.jsonl --insert --marker Source_Key__c --key id --map last=LastName
  forcebridge push --config forcebridge.toml --json")]
    Push(PushArgs),
    /// Check, format and inspect SOQL queries and SOSL searches, offline.
    #[command(subcommand)]
    Soql(SoqlCommand),
    /// Run the local org: a Salesforce-compatible server for development and tests.
    ///
    /// Prints the URL and the login details, then serves until Ctrl-C.
    Emulator(EmulatorArgs),
    /// Serve the org to AI assistants as an MCP server (stdio, or Streamable HTTP with --http).
    ///
    /// Tools: query, get_record, describe_object, search, list_objects, get_account_info,
    /// list_contacts, create_record, update_record, delete_record, create_lead,
    /// update_opportunity, bulk_operations. Updates, deletes and bulk operations are previewed
    /// and need a confirmation; --read-only (or a read-only connection) serves reads only.
    #[command(after_help = "Examples:
  forcebridge mcp -c prod --read-only
  forcebridge mcp -c sandbox --config mcp.toml
  forcebridge mcp -c sandbox --http 127.0.0.1:8765
  forcebridge mcp -c prod --read-only --print-config --client vscode")]
    Mcp(McpArgs),
}

#[derive(Debug, Args)]
pub(crate) struct McpArgs {
    /// Serve reads only: write tools are not listed, and refused if called anyway.
    #[arg(long)]
    pub(crate) read_only: bool,
    /// The server's config file (TOML): allow and deny lists of objects and fields, answer
    /// caps, an API call budget, the audit log, the confirm handles' lifetime.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Serve Streamable HTTP at http://ADDR/mcp instead of stdio. Beyond loopback, clients
    /// must send the bearer token from --token-env.
    #[arg(long, value_name = "ADDR")]
    pub(crate) http: Option<std::net::SocketAddr>,
    /// The environment variable holding the bearer token HTTP clients must send (required
    /// beyond loopback, optional on it). It is this server's own token, never Salesforce's.
    #[arg(long, value_name = "VAR", default_value = "FORCEBRIDGE_MCP_TOKEN")]
    pub(crate) token_env: String,
    /// A browser origin allowed to call the HTTP endpoint, besides local ones (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub(crate) allow_origin: Vec<String>,
    /// A host name clients may use for the HTTP endpoint, besides loopback (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub(crate) allow_host: Vec<String>,
    /// Print the JSON an MCP client needs to start this server for the connection, and exit.
    #[arg(long)]
    pub(crate) print_config: bool,
    /// The client --print-config writes for.
    #[arg(
        long,
        value_enum,
        default_value = "claude-desktop",
        requires = "print_config"
    )]
    pub(crate) client: McpClient,
}

/// MCP client applications, for `mcp --print-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum McpClient {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    Vscode,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SyncCommand>,
    /// Objects to sync: API names or patterns (`*__c`). [default: the config file's, else
    /// every replicable object]
    #[arg(value_name = "OBJECT")]
    pub(crate) objects: Vec<String>,
    #[command(flatten)]
    pub(crate) target: SyncTarget,
    /// Read only up to this many seconds behind the org's clock, so transactions still in
    /// flight are not passed over. [default: 300]
    #[arg(long, value_name = "SECONDS")]
    pub(crate) lag: Option<u64>,
    /// Re-read this many seconds before the last cursor on every run. [default: 600]
    #[arg(long, value_name = "SECONDS")]
    pub(crate) overlap: Option<u64>,
    /// Stop (exit 4) after this many API requests; the next run continues.
    #[arg(long, value_name = "N")]
    pub(crate) max_api_calls: Option<u64>,
    /// Stop (exit 4) once the org reports this share (0 to 1) of its daily API limit used.
    #[arg(long, value_name = "SHARE")]
    pub(crate) max_api_share: Option<f64>,
    /// Read every row on every run and diff, instead of what changed.
    #[arg(long)]
    pub(crate) full: bool,
    /// Remove deleted rows instead of marking them (`_sf_is_deleted`).
    #[arg(long)]
    pub(crate) hard_deletes: bool,
    /// Objects synced at once. [default: 4]
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,
    /// First loads of objects with at least this many records read through a Bulk API 2.0
    /// job; 0 reads every object over REST. [default: 20000]
    #[arg(long, value_name = "N")]
    pub(crate) bulk_threshold: Option<u64>,
    /// The most rows per Bulk result page, each committed with the job's next locator.
    /// [default: 25000]
    #[arg(long, value_name = "N")]
    pub(crate) bulk_page_rows: Option<u64>,
    /// Print the run summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("operation").args(["upsert", "insert", "update", "delete"]))]
pub(crate) struct PushArgs {
    /// The object written to. [default: the config file's]
    #[arg(value_name = "OBJECT")]
    pub(crate) object: Option<String>,
    /// Where rows come from: FILE.csv, FILE.jsonl (or .ndjson), sqlite:PATH or a postgres://
    /// URL.
    #[arg(long, value_name = "SOURCE")]
    pub(crate) from: Option<String>,
    /// The table (or view) read from a database source.
    #[arg(long, value_name = "TABLE", conflicts_with = "query")]
    pub(crate) table: Option<String>,
    /// The SELECT read from a database source.
    #[arg(long, value_name = "SQL")]
    pub(crate) query: Option<String>,
    /// Create or update by this external id field.
    #[arg(long, value_name = "FIELD")]
    pub(crate) upsert: Option<String>,
    /// Create a record per new key (needs --marker and --key).
    #[arg(long)]
    pub(crate) insert: bool,
    /// Update the records named by the column mapped to Id.
    #[arg(long)]
    pub(crate) update: bool,
    /// Delete the records named by the column mapped to Id.
    #[arg(long)]
    pub(crate) delete: bool,
    /// For --insert: the field that receives each row's key, read back to settle a batch
    /// whose answer was lost.
    #[arg(long, value_name = "FIELD")]
    pub(crate) marker: Option<String>,
    /// The source column that names each row. [default: the column mapped to the external id
    /// (upsert) or to Id (update, delete)]
    #[arg(long, value_name = "COLUMN")]
    pub(crate) key: Option<String>,
    /// Map a column to a field or Relationship.ExternalIdField (repeatable); with it, other
    /// columns are ignored.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub(crate) map: Vec<String>,
    /// Where the state and rejects tables live: sqlite:PATH or a postgres:// URL. [default:
    /// the source database, else sqlite:forcebridge.db]
    #[arg(long, value_name = "DEST")]
    pub(crate) state: Option<String>,
    /// Send every valid row, changed or not.
    #[arg(long)]
    pub(crate) full: bool,
    /// Also delete the records whose key has left the source (needs --max-deletes).
    #[arg(long, requires = "max_deletes")]
    pub(crate) mirror: bool,
    /// Refuse a mirror run that would delete more records than this.
    #[arg(long, value_name = "N")]
    pub(crate) max_deletes: Option<u64>,
    /// Refuse (exit 4) a run whose forecast is more API calls than this.
    #[arg(long, value_name = "N")]
    pub(crate) budget: Option<u64>,
    /// Send through Bulk API 2.0 jobs when at least this many rows are to be sent (inserts
    /// through jobs recorded before their upload). [default: 2000]
    #[arg(long, value_name = "N")]
    pub(crate) bulk_threshold: Option<u64>,
    /// Send the duplicate-rule header (allowSave=true): rows that only match an alerting
    /// duplicate rule are saved. Such a push uses sObject Collections only.
    #[arg(long)]
    pub(crate) allow_duplicates: bool,
    /// Also write this run's rejected rows to FILE (JSON lines: key, row number, stage, error
    /// code, message, fields, row), besides the rejects table.
    #[arg(long, value_name = "FILE")]
    pub(crate) rejects: Option<PathBuf>,
    /// Show what would be sent, with a field diff of a sample; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// A TOML file whose [push] section holds the settings (flags win over it).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Where a sync writes, and the settings file.
#[derive(Debug, Args, Clone)]
pub(crate) struct SyncTarget {
    /// The destination: sqlite:PATH or a postgres:// URL. [default: the config file's, else
    /// sqlite:forcebridge.db]
    #[arg(long, value_name = "DEST")]
    pub(crate) to: Option<String>,
    /// A TOML file whose [sync] section holds the settings (flags win over it).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SyncCommand {
    /// Show each synced object's cursor, last run and row count (reads only the destination).
    Status(SyncStatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SyncStatusArgs {
    #[command(flatten)]
    pub(crate) target: SyncTarget,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// The port to listen on; 0 picks a free one. [default: 8443 with --tls, else 8080]
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// The address to listen on. Anything but a loopback address lets other machines connect,
    /// and needs users and a connected app of the org file's own (--config).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// Serve the built-in login, whose secrets are published, beyond loopback anyway: only where
    /// nobody else can connect, such as a container whose port is published on 127.0.0.1 only.
    #[arg(long)]
    pub(crate) insecure_public: bool,
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
    /// Add this many plain Account records (names, industries, cities, phones, websites,
    /// revenue, employees; no related records) once the org has started: a big, uniform table
    /// for benchmarks, loaded far faster than generated data.
    #[arg(long, value_name = "N")]
    pub(crate) plain_accounts: Option<usize>,
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
    /// Share of record writes (0 to 1) that fail with UNABLE_TO_LOCK_ROW, as when another
    /// transaction holds the row.
    #[arg(long, value_name = "F", value_parser = share)]
    pub(crate) lock_rate: Option<f64>,
    /// Delay added to every API response, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub(crate) latency_ms: Option<u64>,
    /// The seed of the injected faults: the same requests, in the same order, meet the same
    /// faults on every run. [default: 0]
    #[arg(long, value_name = "S")]
    pub(crate) fault_seed: Option<u64>,
    /// Which API requests faults may hit: all, writes, reads, or a path such as /composite.
    /// [default: all]
    #[arg(long, value_name = "SCOPE", value_parser = fault_scope)]
    pub(crate) fault_scope: Option<forcebridge_emulator::FaultScope>,
    /// Approve OAuth authorization requests without showing the login page.
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// Print the connection details as one JSON object on one line.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A share between 0 and 1.
fn fault_scope(text: &str) -> Result<forcebridge_emulator::FaultScope, String> {
    forcebridge_emulator::FaultScope::parse(text).ok_or_else(|| {
        format!("`{text}` is not a scope: use all, writes, reads or a path starting with /")
    })
}

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
    #[arg(value_name = "QUERY", required_unless_present = "file")]
    pub(crate) query: Option<String>,
    /// Read the statement from FILE (`-` for stdin) instead; a leading UTF-8 byte order mark
    /// is ignored.
    #[arg(short, long, value_name = "FILE", conflicts_with = "query")]
    pub(crate) file: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Records to generate in the local org.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub(crate) records: u64,
    /// Print what each step found as JSON instead of the tour.
    #[arg(long)]
    pub(crate) json: bool,
}

/// How results are printed. Without a flag: an aligned table.
#[derive(Debug, Args, Clone, Copy, Default)]
#[command(group(ArgGroup::new("format").args(["json", "jsonl", "csv"])))]
pub(crate) struct FormatArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Print one JSON object per line.
    #[arg(long)]
    pub(crate) jsonl: bool,
    /// Print CSV with a header row: the SELECT list's columns in order (parents' fields as
    /// Account.Name), and a row per child record of a subquery.
    #[arg(long)]
    pub(crate) csv: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConnectCommand {
    /// Save a connection after checking it with a real login.
    ///
    /// Secrets are never taken as flags (they would stay in your shell history): they are
    /// asked for on the terminal, or read from FORCEBRIDGE_CLIENT_SECRET, FORCEBRIDGE_PASSWORD,
    /// FORCEBRIDGE_SECURITY_TOKEN, FORCEBRIDGE_ACCESS_TOKEN or FORCEBRIDGE_PRIVATE_KEY.
    #[command(after_help = "Examples:
  forcebridge connect add prod --password --client-id 3MVG9... --username me@acme.com
  forcebridge connect add prod --web --client-id 3MVG9... --login-url acme
  forcebridge connect add etl --client-credentials --client-id 3MVG9... --login-url acme
  forcebridge connect add ci --jwt --client-id 3MVG9... --username ci@acme.com --key-file server.key
  forcebridge connect add sandbox --password --login-url test --read-only ...
  sf org display --verbose --json --target-org dev > dev.json
  forcebridge connect add dev --sfdx-url-file dev.json")]
    Add(AddArgs),
    /// List saved connections.
    List(JsonArg),
    /// Show a connection's settings (secrets redacted).
    Show(NameArg),
    /// Log in, make a cheap API call, and report the user, org, versions and API usage.
    Test(NameArg),
    /// Log in to a saved connection again, with its settings: after a password change, or a
    /// revoked refresh token (the web flow opens the browser again). Secrets are read as `add`
    /// reads them; on a terminal, Enter keeps the stored one. Saved only once it worked.
    #[command(after_help = "Examples:
  forcebridge connect login prod          # web flow: log in in the browser again
  FORCEBRIDGE_PASSWORD=... forcebridge connect login etl")]
    Login(LoginArgs),
    /// Forget a connection and its secrets.
    Remove(RemoveArgs),
    /// Make a connection the one commands use by default.
    Default(RemoveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct JsonArg {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArg {
    /// The connection. [default: --connection, or the default connection]
    #[arg(value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The connection. [default: --connection, or the default connection]
    #[arg(value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// How long the web flow waits for the browser, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) wait: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("flow").required(true).args(["password", "client_credentials", "web", "jwt", "token", "sfdx_url_file"])))]
pub(crate) struct AddArgs {
    /// The name to save the connection under (letters, digits, '-', '_', '.').
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// Username-password flow: consumer key and secret, username, password, security token.
    #[arg(long, help_heading = "Flow")]
    pub(crate) password: bool,
    /// Client-credentials flow: consumer key and secret, against your My Domain (--login-url).
    #[arg(long, help_heading = "Flow")]
    pub(crate) client_credentials: bool,
    /// Web (authorization code) flow: prints a URL to open, and waits for the org to call
    /// back on --callback-url.
    #[arg(long, help_heading = "Flow")]
    pub(crate) web: bool,
    /// JWT bearer flow: consumer key, username, and the private key of the certificate
    /// uploaded to the app (--key-file).
    #[arg(long, help_heading = "Flow")]
    pub(crate) jwt: bool,
    /// An access token you already have (FORCEBRIDGE_ACCESS_TOKEN), with --instance-url. It
    /// cannot be renewed.
    #[arg(long, help_heading = "Flow")]
    pub(crate) token: bool,
    /// Import a connection from the Salesforce CLI: FILE holds its auth URL
    /// (force://<clientId>:<clientSecret>:<refreshToken>@<instance>, the "Sfdx Auth Url" of
    /// `sf org display --verbose`), or the JSON of `sf org display --verbose --json`. It logs
    /// in with the refresh token, where the URL says.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Flow",
        conflicts_with_all = ["login_url", "instance_url", "username"]
    )]
    pub(crate) sfdx_url_file: Option<PathBuf>,

    /// Where to log in: login, test, a My Domain (acme or acme.my.salesforce.com) or any
    /// URL. [default: login]
    #[arg(long, value_name = "URL")]
    pub(crate) login_url: Option<String>,
    /// The org's API host (https://acme.my.salesforce.com); logins find it themselves.
    #[arg(long, value_name = "URL")]
    pub(crate) instance_url: Option<String>,
    /// The API version every request uses.
    #[arg(long, value_name = "VERSION", default_value = "60.0")]
    pub(crate) api_version: String,
    /// Refuse every write through this connection before it is sent.
    #[arg(long)]
    pub(crate) read_only: bool,
    /// Trust the certificate authorities in this PEM file besides the system's: for an org
    /// served over HTTPS by a private authority, such as `forcebridge emulator --tls` (which
    /// prints the path). The path is saved with the connection.
    #[arg(long, value_name = "PATH")]
    pub(crate) ca_file: Option<PathBuf>,
    /// The connected app's consumer key.
    #[arg(long, env = "FORCEBRIDGE_CLIENT_ID", value_name = "KEY")]
    pub(crate) client_id: Option<String>,
    /// The Salesforce username, for --password and --jwt.
    #[arg(long, env = "FORCEBRIDGE_USERNAME", value_name = "USER")]
    pub(crate) username: Option<String>,
    /// The private key file (PEM) for --jwt; its content is stored with the secrets.
    #[arg(long, value_name = "PATH")]
    pub(crate) key_file: Option<PathBuf>,
    /// The callback URL registered in the app, for --web; forcebridge listens there.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://localhost:1717/OauthRedirect"
    )]
    pub(crate) callback_url: String,
    /// Do not use PKCE with --web (for apps that do not require it and reject it).
    #[arg(long)]
    pub(crate) no_pkce: bool,
    /// How long --web waits for the browser, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) wait: u64,
    /// Make this the default connection.
    #[arg(long)]
    pub(crate) default: bool,
    /// Replace a connection already saved under NAME (only once the new settings have logged
    /// in; a failed check leaves it as it was).
    #[arg(long)]
    pub(crate) force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The SOQL query; `-` reads it from stdin. It is checked before it is sent.
    #[arg(value_name = "SOQL", required_unless_present = "file")]
    pub(crate) soql: Option<String>,
    /// Read the query from FILE (`-` for stdin) instead; a leading UTF-8 byte order mark is
    /// ignored.
    #[arg(short, long, value_name = "FILE", conflicts_with = "soql")]
    pub(crate) file: Option<PathBuf>,
    /// Include deleted and archived records (queryAll).
    #[arg(long)]
    pub(crate) all: bool,
    /// Query the Tooling API (its objects describe the org's metadata: ApexClass,
    /// EntityDefinition, FieldDefinition, ...).
    #[arg(long, conflicts_with = "all")]
    pub(crate) tooling: bool,
    /// Records per page requested from the org (200 to 2000).
    #[arg(long, value_name = "N")]
    pub(crate) batch_size: Option<u32>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The object, such as Account.
    pub(crate) object: String,
    /// The record id (15 or 18 characters).
    pub(crate) id: String,
    /// Only these fields (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    pub(crate) fields: Vec<String>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

/// A record's fields: `Name=Acme` sets a string, `NumberOfEmployees:=50` a JSON value.
#[derive(Debug, Args)]
pub(crate) struct RecordInput {
    /// Fields as Field=text or Field:=json (numbers, true/false, null).
    #[arg(value_name = "FIELD=VALUE")]
    pub(crate) fields: Vec<String>,
    /// The record as a JSON object; `-` reads it from stdin. Pairs override its fields.
    #[arg(long, value_name = "JSON")]
    pub(crate) data: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// The object, such as Account.
    pub(crate) object: String,
    #[command(flatten)]
    pub(crate) record: RecordInput,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    pub(crate) object: String,
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) record: RecordInput,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpsertArgs {
    pub(crate) object: String,
    /// The external id field to match on.
    #[arg(long, value_name = "FIELD")]
    pub(crate) external_id: String,
    /// The external id value.
    #[arg(value_name = "VALUE")]
    pub(crate) value: String,
    #[command(flatten)]
    pub(crate) record: RecordInput,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    pub(crate) object: String,
    pub(crate) id: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    /// The object; without one, every object in the org is listed.
    pub(crate) object: Option<String>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The SOSL search, such as `FIND {Acme} RETURNING Account(Name)`; `-` reads stdin.
    #[arg(value_name = "SOSL", required_unless_present = "file")]
    pub(crate) sosl: Option<String>,
    /// Read the search from FILE (`-` for stdin) instead; a leading UTF-8 byte order mark is
    /// ignored.
    #[arg(short, long, value_name = "FILE", conflicts_with = "sosl")]
    pub(crate) file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("output_kind").args(["markdown", "mermaid", "svg", "to", "diff"])))]
pub(crate) struct CatalogArgs {
    /// Print the catalog as a versioned JSON document (with --diff: the changes as JSON).
    #[arg(long, conflicts_with_all = ["markdown", "mermaid", "svg", "to"])]
    pub(crate) json: bool,
    /// Print a data dictionary in Markdown: one section and field table per object.
    #[arg(long)]
    pub(crate) markdown: bool,
    /// Print a Mermaid erDiagram (use --from and --depth to keep a large org readable).
    #[arg(long)]
    pub(crate) mermaid: bool,
    /// Write the ER diagram as an SVG picture to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<PathBuf>,
    /// Write the catalog tables (objects, fields, relationships, picklist_values) to
    /// `sqlite:PATH` or a `postgres://` URL.
    #[arg(long, value_name = "URL")]
    pub(crate) to: Option<String>,
    /// Show what changed since an earlier `catalog --json` document (its describes are
    /// revalidated rather than downloaded again).
    #[arg(long, value_name = "OLD.json")]
    pub(crate) diff: Option<PathBuf>,
    /// Only objects whose name matches; `*` and `?` are wildcards, case does not matter.
    /// Repeat for more.
    #[arg(long, value_name = "PATTERN")]
    pub(crate) include: Vec<String>,
    /// Leave out objects whose name matches (wins over --include). Repeat for more.
    #[arg(long, value_name = "PATTERN")]
    pub(crate) exclude: Vec<String>,
    /// Only custom objects.
    #[arg(long)]
    pub(crate) custom_only: bool,
    /// Only objects that can be queried.
    #[arg(long)]
    pub(crate) queryable_only: bool,
    /// Diagrams: start from this object and crawl outward (parents and children).
    #[arg(long, value_name = "OBJECT")]
    pub(crate) from: Option<String>,
    /// Diagrams: how many relationships away from --from to go. [default: 1]
    #[arg(long, value_name = "N", requires = "from")]
    pub(crate) depth: Option<usize>,
    /// Keep the catalog in FILE between runs: unchanged describes are revalidated with
    /// If-Modified-Since instead of downloaded, and FILE is updated.
    #[arg(long, value_name = "FILE")]
    pub(crate) cache: Option<PathBuf>,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE", conflicts_with_all = ["svg", "to"])]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ApiArgs {
    /// GET, POST, PATCH, PUT or DELETE.
    pub(crate) method: String,
    /// Where to send it: a path under /services/data/vNN.N/ (`limits`,
    /// `sobjects/Account/describe`), a path from the root (`/services/data/v60.0/limits`, a
    /// record's `attributes.url`, `/services/oauth2/userinfo`), or a URL on the org's own
    /// host. A query string may follow.
    pub(crate) path: String,
    /// A JSON body; `-` reads it from stdin.
    #[arg(long, value_name = "JSON")]
    pub(crate) data: Option<String>,
    /// Print the status and headers on stderr.
    #[arg(short, long)]
    pub(crate) include: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BulkCommand {
    /// Insert records from a CSV file (header row = field names).
    Import(IngestArgs),
    /// Update records from a CSV file with an Id column.
    Update(IngestArgs),
    /// Insert or update records from a CSV file, matched on an external id field.
    Upsert(UpsertIngestArgs),
    /// Delete records listed by Id in a CSV file.
    Delete(DeleteIngestArgs),
    /// Export a query's results to CSV, page by page (resumable with `bulk resume`).
    Export(ExportArgs),
    /// List the org's bulk jobs (ingest and query), newest last.
    List(ListArgs),
    /// Show a job's state and counts.
    Status(JobArgs),
    /// Abort a job: an open ingest job is never processed; a running one stops, leaving its
    /// remaining rows unprocessed.
    Abort(JobArgs),
    /// Print a finished ingest job's per-record results as CSV.
    Results(ResultsArgs),
    /// Wait for a job started earlier (after a crash or Ctrl-C) and collect its results; for an
    /// export, continue the download where it stopped.
    Resume(ResumeArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "The load is recorded in the results directory (bulk-load.json) before each \
job's upload. If it is interrupted (Ctrl-C, a crash, a lost connection), run the same command \
again: finished jobs are not loaded again, running ones are waited for, and a job whose upload \
was cut short is aborted and its rows sent again."
)]
pub(crate) struct IngestArgs {
    /// The object, such as Account.
    pub(crate) object: String,
    /// The CSV file; `-` reads stdin.
    pub(crate) file: PathBuf,
    /// Where to write each job's successful, failed and unprocessed results, and the record
    /// of the load that lets an interrupted one resume.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) results_dir: PathBuf,
    /// Start this load over, even if the results directory records an earlier load (of this
    /// file or another): that record is replaced and every row is loaded again.
    #[arg(long)]
    pub(crate) restart: bool,
    /// The most CSV to upload in one job, in MB; larger files are split into several jobs.
    #[arg(long, value_name = "MB", default_value_t = 99)]
    pub(crate) max_job_mb: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpsertIngestArgs {
    #[command(flatten)]
    pub(crate) ingest: IngestArgs,
    /// The external id field to match on.
    #[arg(long, value_name = "FIELD")]
    pub(crate) external_id: String,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteIngestArgs {
    #[command(flatten)]
    pub(crate) ingest: IngestArgs,
    /// Delete for good instead of to the recycle bin (needs the Bulk API Hard Delete permission).
    #[arg(long)]
    pub(crate) hard: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The SOQL query; `-` reads it from stdin.
    #[arg(value_name = "SOQL", required_unless_present = "file")]
    pub(crate) soql: Option<String>,
    /// Read the query from FILE (`-` for stdin) instead; a leading UTF-8 byte order mark is
    /// ignored.
    #[arg(short, long, value_name = "FILE", conflicts_with = "soql")]
    pub(crate) file: Option<PathBuf>,
    /// The CSV file to write; it appears complete or not at all. Without it, CSV goes to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Include deleted and archived records (queryAll).
    #[arg(long)]
    pub(crate) all: bool,
    /// Query the Tooling API (its objects describe the org's metadata: ApexClass,
    /// EntityDefinition, FieldDefinition, ...).
    #[arg(long, conflicts_with = "all")]
    pub(crate) tooling: bool,
    /// Records per results page.
    #[arg(long, value_name = "N")]
    pub(crate) max_records: Option<u64>,
    /// Print the summary as JSON (on stdout when --output is given, else on stderr).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only jobs in this state (Open, UploadComplete, InProgress, JobComplete, Failed or
    /// Aborted; any case); repeat for several.
    #[arg(long, value_name = "STATE", value_parser = parse_job_state)]
    pub(crate) state: Vec<String>,
    /// Only jobs on this object (any case).
    #[arg(long, value_name = "OBJECT")]
    pub(crate) object: Option<String>,
    /// Only ingest or only query jobs.
    #[arg(long, value_enum)]
    pub(crate) kind: Option<JobKindArg>,
    /// Print JSON: the org's job info, with a `kind` member.
    #[arg(long, conflicts_with = "csv")]
    pub(crate) json: bool,
    /// Print CSV.
    #[arg(long)]
    pub(crate) csv: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum JobKindArg {
    Ingest,
    Query,
}

/// A job state as Salesforce spells it, from any case.
fn parse_job_state(text: &str) -> Result<String, String> {
    const STATES: [&str; 6] = [
        "Open",
        "UploadComplete",
        "InProgress",
        "JobComplete",
        "Failed",
        "Aborted",
    ];
    STATES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(text))
        .map(|s| s.to_string())
        .ok_or_else(|| format!("not a job state; use one of {}", STATES.join(", ")))
}

#[derive(Debug, Args)]
pub(crate) struct JobArgs {
    /// The job id (750...).
    pub(crate) job_id: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ResultsArgs {
    /// The ingest job id.
    pub(crate) job_id: String,
    /// Which results.
    #[arg(long, value_enum, default_value = "failed")]
    pub(crate) kind: ResultKindArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ResultKindArg {
    Successful,
    Failed,
    Unprocessed,
}

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The job id (750...).
    pub(crate) job_id: String,
    /// For an export: the file the interrupted export was writing.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// For an ingest job: where to write its results.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) results_dir: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}
