//! `forcebridge emulator`: runs the local org until Ctrl-C, after printing what a user needs to
//! connect (URL, credentials, login URLs, the certificate to trust).
//!
//! The org itself lives in `forcebridge-emulator`; this module only turns flags into its
//! configuration, starts it, reports, and waits. It installs the process's tracing subscriber
//! (logs on stderr, `RUST_LOG` to change the level).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use forcebridge_emulator::{
    Config, DEFAULT_CLIENT_ID, Emulator, ErrorKind, LATEST_API_VERSION, SeedConfig,
};
use serde::Serialize;

use crate::cli::EmulatorArgs;
use crate::output::{self, Exit, Outcome};

/// The port with `--tls` when none is given (HTTPS's usual alternative port).
pub(crate) const DEFAULT_TLS_PORT: u16 = 8443;
/// The port without `--tls` when none is given.
pub(crate) const DEFAULT_PORT: u16 = 8080;
/// Records generated when a seed is given without a count.
const DEFAULT_RECORDS: u64 = 1000;

pub(crate) fn run(args: EmulatorArgs) -> anyhow::Result<Outcome> {
    install_logging();
    let config = configuration(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, config))
}

/// Logs go to stderr: the org's own events at info, everything else at warn, unless `RUST_LOG`
/// says otherwise.
fn install_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,forcebridge_emulator=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The org's configuration: the org file (or the built-in org), then the flags on top.
fn configuration(args: &EmulatorArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => {
            let text = crate::input::file(path, "--config")?;
            Config::from_toml(&text)
                .with_context(|| format!("the org file {} is not valid", path.display()))?
        }
        None => Config::builtin(),
    };
    match (&args.seed, &mut config.seed) {
        (Some(seed), _) => {
            config.seed = Some(SeedConfig {
                seed: seed.clone(),
                records: args.records.unwrap_or(DEFAULT_RECORDS),
            });
        }
        (None, Some(from_file)) => {
            if let Some(records) = args.records {
                from_file.records = records;
            }
        }
        (None, None) if args.records.is_some() => {
            bail!("--records needs a seed: give --seed (or `seed` in the org file)")
        }
        (None, None) => {}
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = Some(dir.clone());
    }
    if let Some(seconds) = args.token_lifetime {
        if seconds == 0 {
            bail!("--token-lifetime must be at least 1 second");
        }
        config.token_lifetime = Duration::from_secs(seconds);
    }
    if let Some(max) = args.daily_api_requests {
        config.daily_api_requests = max;
    }
    let faults = &mut config.faults;
    if let Some(rate) = args.error_rate {
        faults.error_rate = rate;
    }
    if let Some(rate) = args.reset_rate {
        faults.reset_rate = rate;
    }
    if let Some(rate) = args.lock_rate {
        faults.lock_rate = rate;
    }
    if let Some(ms) = args.latency_ms {
        faults.latency = Duration::from_millis(ms);
    }
    if let Some(seed) = args.fault_seed {
        faults.seed = seed;
    }
    if let Some(scope) = &args.fault_scope {
        faults.scope = scope.clone();
    }
    if args.auto_approve {
        config.auto_approve = true;
    }
    config.insecure_public = args.insecure_public;
    Ok(config)
}

/// The certificate file for `--tls`: the one given, else `tls/ca.pem` in the data directory,
/// else a fresh temporary directory (removed again on exit).
fn trust_file(args: &EmulatorArgs, config: &Config) -> anyhow::Result<(PathBuf, Option<PathBuf>)> {
    if let Some(path) = &args.cert_file {
        return Ok((path.clone(), None));
    }
    if let Some(dir) = &config.data_dir {
        return Ok((dir.join("tls").join("ca.pem"), None));
    }
    let dir = std::env::temp_dir().join(format!("forcebridge-local-org-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    Ok((dir.join("ca.pem"), Some(dir)))
}

async fn serve(args: EmulatorArgs, config: Config) -> anyhow::Result<Outcome> {
    let port = args.port.unwrap_or(if args.tls {
        DEFAULT_TLS_PORT
    } else {
        DEFAULT_PORT
    });
    let addr = SocketAddr::new(args.bind, port);
    let seed = config.seed.clone();
    let data_dir = config.data_dir.clone();
    let token_lifetime = config.token_lifetime;
    let (emulator, temporary) = if args.tls {
        let (file, temporary) = trust_file(&args, &config)?;
        let emulator = Emulator::start_tls(config, addr, &file).await;
        (emulator, temporary)
    } else {
        (Emulator::start(config, addr).await, None)
    };
    if emulator.is_err()
        && let Some(dir) = &temporary
    {
        let _ = std::fs::remove_dir_all(dir);
    }
    let emulator = match emulator {
        Ok(emulator) => emulator,
        Err(e) if e.kind() == ErrorKind::Exposed => {
            return Err(output::usage(format!(
                "{e}\n\nforcebridge emulator reads the org file given with --config FILE; --insecure-public serves the built-in login anyway, which is safe only where nobody else can connect (such as a container whose port is published on 127.0.0.1 only)"
            )));
        }
        Err(e) => {
            return Err(anyhow::Error::new(e))
                .with_context(|| format!("cannot start the local org on {addr}"));
        }
    };
    if let Some(count) = args.plain_accounts {
        let control = emulator.control();
        tokio::task::spawn_blocking(move || control.insert_plain_accounts(count))
            .await
            .context("adding the plain accounts")?;
    }
    if !args.bind.to_canonical().is_loopback() {
        output::stderr(&if args.insecure_public {
            format!(
                "warning: listening on {} with --insecure-public: other machines may connect, and the built-in login below is published, so anyone who can reach this address can log in and read or change every record\n",
                args.bind
            )
        } else {
            format!(
                "warning: listening on {}, which other machines may reach: only the org file's users and apps can log in (the built-in {DEFAULT_CLIENT_ID} app is off)\n",
                args.bind
            )
        });
    }
    let details = Details::of(
        &emulator,
        token_lifetime,
        seed.as_ref(),
        data_dir.as_deref(),
    );
    if args.json {
        output::json_line(&details)?;
    } else {
        output::stdout(&details.text())?;
    }
    wait_for_stop().await;
    output::stderr("stopping the local org\n");
    emulator.shutdown().await;
    if let Some(dir) = temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(Exit::Success)
}

/// Waits for Ctrl-C (or SIGTERM on Unix).
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Everything a user needs to connect, printed as text or as one JSON object.
#[derive(Serialize)]
struct Details {
    url: String,
    instance_url: String,
    api_version: String,
    username: String,
    password: String,
    security_token: String,
    client_id: String,
    client_secret: String,
    /// A session for the first user, usable right away (simple-salesforce's `session_id`).
    access_token: String,
    access_token_lifetime_seconds: u64,
    token_url: String,
    soap_login_url: String,
    tls: bool,
    cert_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    seed: Option<String>,
    records: Option<u64>,
    /// Environment variables that make clients trust the certificate.
    trust: Option<Trust>,
    /// The command that saves a forcebridge connection to this org (with `--ca-file` over
    /// HTTPS); it asks for the secrets above, or reads them from the environment.
    connect_command: String,
}

#[derive(Serialize)]
struct Trust {
    #[serde(rename = "REQUESTS_CA_BUNDLE")]
    requests_ca_bundle: PathBuf,
    #[serde(rename = "NODE_EXTRA_CA_CERTS")]
    node_extra_ca_certs: PathBuf,
}

impl Details {
    fn of(
        emulator: &Emulator,
        token_lifetime: Duration,
        seed: Option<&SeedConfig>,
        data_dir: Option<&Path>,
    ) -> Details {
        let url = emulator.url().to_string();
        let version = LATEST_API_VERSION.to_string();
        // The first user, and the first connected app that allows the username-password flow
        // (one with a secret first): what a script would use.
        let login = emulator.login();
        let cert_file = emulator.trust_file().map(Path::to_path_buf);
        let mut connect_command = format!(
            "forcebridge connect add local --password --login-url {} --client-id {} --username {}",
            shell_word(&url),
            shell_word(&login.client_id),
            shell_word(&login.username)
        );
        if let Some(file) = &cert_file {
            connect_command.push_str(&format!(
                " --ca-file {}",
                shell_word(&file.display().to_string())
            ));
        }
        Details {
            connect_command,
            instance_url: url.clone(),
            api_version: version.clone(),
            username: login.username,
            password: login.password,
            security_token: login.security_token,
            client_id: login.client_id,
            client_secret: login.client_secret,
            access_token: emulator.access_token(),
            access_token_lifetime_seconds: token_lifetime.as_secs(),
            token_url: format!("{url}/services/oauth2/token"),
            soap_login_url: format!("{url}/services/Soap/u/{version}"),
            tls: cert_file.is_some(),
            trust: cert_file.clone().map(|file| Trust {
                requests_ca_bundle: file.clone(),
                node_extra_ca_certs: file,
            }),
            cert_file,
            data_dir: data_dir.map(Path::to_path_buf),
            seed: seed.map(|s| s.seed.clone()),
            records: seed.map(|s| s.records),
            url,
        }
    }

    fn text(&self) -> String {
        let mut out = format!(
            "forcebridge local org at {} (API v{})\n\n",
            self.url, self.api_version
        );
        let mut row = |label: &str, value: &str| {
            out.push_str(&format!("  {label:<16} {value}\n"));
        };
        row("username", &self.username);
        row("password", &self.password);
        row(
            "security token",
            &format!(
                "{} (password + token: {}{})",
                self.security_token, self.password, self.security_token
            ),
        );
        row("client id", &self.client_id);
        row("client secret", &self.client_secret);
        row(
            "access token",
            &format!(
                "{} (valid {} s; use it as a session id)",
                self.access_token, self.access_token_lifetime_seconds
            ),
        );
        row("token URL", &self.token_url);
        row("SOAP login URL", &self.soap_login_url);
        let data = match (&self.seed, &self.data_dir) {
            (_, Some(dir)) => format!("kept in {}", dir.display()),
            (Some(seed), None) => format!(
                "generated from seed \"{seed}\" (about {} records)",
                self.records.unwrap_or(0)
            ),
            (None, None) => "empty, in memory only".to_string(),
        };
        row("data", &data);
        if let Some(file) = &self.cert_file {
            row("certificate", &file.display().to_string());
            out.push_str(&format!(
                "\nTrust the certificate:\n  Python (requests, simple-salesforce): export REQUESTS_CA_BUNDLE={0}\n  Node (jsforce):                       export NODE_EXTRA_CA_CERTS={0}\n  curl:                                 curl --cacert {0} {1}/services/data\n",
                file.display(),
                self.url
            ));
        }
        out.push_str(&format!(
            "\nConnect forcebridge to it (it asks for the client secret, password and security token above):\n  {}\n",
            self.connect_command
        ));
        out.push_str("\nPress Ctrl-C to stop.\n");
        out
    }
}

/// `text` as one shell word: as it is when it is made of safe characters, else single-quoted.
fn shell_word(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:@%+=,".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/tmp/ca.pem"), "/tmp/ca.pem");
        assert_eq!(
            shell_word("https://localhost:8443"),
            "https://localhost:8443"
        );
        assert_eq!(shell_word("/my certs/ca.pem"), "'/my certs/ca.pem'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
