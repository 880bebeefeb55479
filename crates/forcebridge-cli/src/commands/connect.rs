//! `forcebridge connect`: saving, listing, checking and removing connections.
//!
//! A connection is saved only after a real login with it succeeded; when the login fails,
//! nothing is written and the error says what the org answered and what to check.

use std::io::IsTerminal;

use anyhow::Context;
use forcebridge_client::{ExposeSecret, SecretString};
use forcebridge_connect::{
    Check, Connections, ErrorKind, Flow, Profile, SecretKind, Secrets, SfdxAuthUrl, check,
    parse_login_url, validate_name,
};
use serde_json::{Value, json};

use crate::cli::{AddArgs, ConnectCommand, GlobalArgs, JsonArg, LoginArgs, NameArg, RemoveArgs};
use crate::org::connections;
use crate::output::{self, Exit, Outcome, usage};

pub(crate) async fn run(global: &GlobalArgs, command: ConnectCommand) -> anyhow::Result<Outcome> {
    let connections = connections()?;
    match command {
        ConnectCommand::Add(args) => add(&connections, args).await,
        ConnectCommand::List(args) => list(&connections, args),
        ConnectCommand::Show(args) => show(&connections, global, args),
        ConnectCommand::Test(args) => test(&connections, global, args).await,
        ConnectCommand::Login(args) => login(&connections, global, args).await,
        ConnectCommand::Remove(RemoveArgs { name }) => {
            if !connections.remove(&name)? {
                return Err(usage(format!("no connection named {name:?}")));
            }
            output::stderr(&format!("removed connection {name:?} and its secrets\n"));
            Ok(Exit::Success)
        }
        ConnectCommand::Default(RemoveArgs { name }) => {
            connections.set_default(&name)?;
            output::stderr(&format!("{name:?} is now the default connection\n"));
            Ok(Exit::Success)
        }
    }
}

fn flow_of(args: &AddArgs) -> Flow {
    if args.password {
        Flow::Password
    } else if args.client_credentials {
        Flow::ClientCredentials
    } else if args.web {
        Flow::Web
    } else if args.jwt {
        Flow::Jwt
    } else {
        Flow::Token
    }
}

async fn add(connections: &Connections, args: AddArgs) -> anyhow::Result<Outcome> {
    validate_name(&args.name)?;
    // Before any secret is asked for or any browser opened.
    if !args.force && connections.list()?.profiles.contains_key(&args.name) {
        return Err(usage(format!(
            "a connection named {name:?} already exists: add --force to replace it (it is replaced only once the new settings log in), or run `forcebridge connect login {name}` to log in to it again",
            name = args.name
        )));
    }
    let (profile, secrets) = match &args.sfdx_url_file {
        Some(path) => imported(&args, path)?,
        None => asked(connections, &args).await?,
    };

    let added = if args.force {
        connections
            .add_or_replace(&args.name, &profile, &secrets)
            .await
    } else {
        connections.add(&args.name, &profile, &secrets).await
    };
    let checked = added.map_err(|e| match e.kind() {
        // The hint (what to check) is printed with the error.
        ErrorKind::Client => anyhow::Error::new(e).context("nothing was saved"),
        _ => e.into(),
    })?;
    if args.default {
        connections.set_default(&args.name)?;
    }
    report_saved(&args, &profile, &checked)
}

/// `connect login`: the connection's login again, with its stored settings and secrets read
/// as `add` reads them (the environment, else the terminal, else the stored ones); for the web
/// flow, the browser login again. Saved only once it worked.
async fn login(
    connections: &Connections,
    global: &GlobalArgs,
    args: LoginArgs,
) -> anyhow::Result<Outcome> {
    let name = connections.resolve_name(args.name.as_deref().or(global.connection.as_deref()))?;
    let profile = connections.get(&name)?;
    let current = connections.secrets(&name)?;
    let mut secrets = Secrets::default();
    for &(kind, required) in profile.flow.secrets() {
        if profile.flow == Flow::Web && kind == SecretKind::RefreshToken {
            continue; // the browser login gets a new one
        }
        if let Some(value) = login_secret_input(connections, &name, &current, kind, required)? {
            secrets.set(kind, value);
        }
    }
    if profile.flow == Flow::Web {
        let token = crate::commands::web::authorize(&profile, &secrets, args.wait).await?;
        secrets.set(SecretKind::RefreshToken, token);
    }
    let checked = connections
        .reauthorize(&name, &secrets)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::Client => {
                anyhow::Error::new(e).context(format!("connection {name:?} was left as it was"))
            }
            _ => e.into(),
        })?;
    let verified = &checked.verified;
    if args.json {
        output::json(&json!({
            "name": name,
            "flow": profile.flow.as_str(),
            "instance_url": checked.instance_url,
            "org_id": verified.org_id,
            "user_id": verified.user_id,
            "username": verified.username,
        }))?;
    } else {
        output::stdout(&format!(
            "Logged in to connection {name:?} again: {} on {} (org {}).\n",
            verified.username.as_deref().unwrap_or("?"),
            checked.instance_url,
            verified.org_id.as_deref().unwrap_or("?"),
        ))?;
    }
    Ok(Exit::Success)
}

/// A secret for `connect login`: the environment's, else asked on the terminal (Enter keeps
/// the stored one), else the stored one.
fn login_secret_input(
    connections: &Connections,
    name: &str,
    current: &Secrets,
    kind: SecretKind,
    required: bool,
) -> anyhow::Result<Option<SecretString>> {
    if let Some(value) = connections.env_secret(kind) {
        return Ok(Some(value.clone()));
    }
    let stored = current
        .get(kind)
        .filter(|s| !s.expose_secret().is_empty())
        .cloned();
    if std::io::stdin().is_terminal() {
        let keep = if stored.is_some() {
            " (Enter keeps the stored one)"
        } else if required {
            ""
        } else {
            " (Enter for none)"
        };
        let value = rpassword::prompt_password(format!("{}{keep}: ", capitalise(kind.describe())))
            .context("reading a secret from the terminal")?;
        if !value.is_empty() {
            return Ok(Some(value.into()));
        }
    }
    if stored.is_none() && required {
        return Err(usage(format!(
            "connection {name:?} has no {} stored: set {} or run this in a terminal to be asked",
            kind.describe(),
            kind.env_var()
        )));
    }
    Ok(stored)
}

/// The connection `add` describes, with its secrets from the environment, the terminal, the
/// key file or (for the web flow) a browser login.
async fn asked(connections: &Connections, args: &AddArgs) -> anyhow::Result<(Profile, Secrets)> {
    let flow = flow_of(args);
    let mut profile = Profile::new(flow);
    profile.login_url = args
        .login_url
        .as_deref()
        .map(|url| parse_login_url(url).map(|u| u.to_string()))
        .transpose()?;
    profile.instance_url = args
        .instance_url
        .as_deref()
        .map(|url| url.trim().trim_end_matches('/').to_string());
    common_settings(&mut profile, args)?;
    profile.client_id = args.client_id.clone();
    profile.username = args.username.clone();
    if flow == Flow::Web {
        profile.redirect_uri = Some(args.callback_url.clone());
        profile.pkce = Some(!args.no_pkce);
    }
    profile.validate()?;

    let mut secrets = Secrets::default();
    for &(kind, required) in flow.secrets() {
        if flow == Flow::Web && kind == SecretKind::RefreshToken {
            continue; // the flow itself obtains it
        }
        if let Some(value) = secret_input(connections, args, kind, required)? {
            secrets.set(kind, value);
        }
    }
    if flow == Flow::Web {
        let token = crate::commands::web::authorize(&profile, &secrets, args.wait).await?;
        secrets.set(SecretKind::RefreshToken, token);
    }
    Ok((profile, secrets))
}

/// The connection a Salesforce CLI auth URL describes (`--sfdx-url-file`): a web-flow
/// connection with the refresh token, logging in where the URL says.
fn imported(args: &AddArgs, path: &std::path::Path) -> anyhow::Result<(Profile, Secrets)> {
    let text = crate::input::file(path, "--sfdx-url-file")?;
    let url = SfdxAuthUrl::from_file_contents(&text)
        .map_err(|e| usage(format!("{}: {e}", path.display())))?;
    if let Some(id) = &args.client_id
        && *id != url.client_id
    {
        return Err(usage(format!(
            "--client-id (or FORCEBRIDGE_CLIENT_ID) is {id:?}, but the auth URL in {} is for client id {:?}: leave it out",
            path.display(),
            url.client_id
        )));
    }
    let mut profile = url.profile();
    common_settings(&mut profile, args)?;
    profile.validate()?;
    Ok((profile, url.secrets()))
}

/// The settings every flow takes: API version, read-only, CA file.
fn common_settings(profile: &mut Profile, args: &AddArgs) -> anyhow::Result<()> {
    profile.api_version = args
        .api_version
        .parse::<forcebridge_client::ApiVersion>()
        .map_err(|e| usage(e.to_string()))?
        .to_string();
    profile.read_only = args.read_only;
    // Saved as an absolute path, so that commands run from anywhere find it.
    profile.ca_file = args
        .ca_file
        .as_deref()
        .map(|path| {
            std::fs::canonicalize(path)
                .map_err(|e| usage(format!("--ca-file {}: {e}", path.display())))
        })
        .transpose()?;
    Ok(())
}

fn report_saved(args: &AddArgs, profile: &Profile, checked: &Check) -> anyhow::Result<Outcome> {
    let verified = &checked.verified;
    if args.json {
        output::json(&json!({
            "name": args.name,
            "flow": profile.flow.as_str(),
            "instance_url": checked.instance_url,
            "api_version": profile.api_version,
            "read_only": profile.read_only,
            "org_id": verified.org_id,
            "user_id": verified.user_id,
            "username": verified.username,
        }))?;
    } else {
        output::stdout(&format!(
            "Saved connection {:?}: {} on {} (org {}), API {}{}.\n",
            args.name,
            verified.username.as_deref().unwrap_or("?"),
            checked.instance_url,
            verified.org_id.as_deref().unwrap_or("?"),
            profile.api_version,
            if profile.read_only { ", read-only" } else { "" },
        ))?;
    }
    Ok(Exit::Success)
}

/// A secret from the environment, else asked on the terminal.
fn secret_input(
    connections: &Connections,
    args: &AddArgs,
    kind: SecretKind,
    required: bool,
) -> anyhow::Result<Option<SecretString>> {
    if kind == SecretKind::PrivateKey
        && let Some(path) = &args.key_file
    {
        let pem = crate::input::file(path, "--key-file")?;
        if !pem.contains("PRIVATE KEY-----") {
            return Err(usage(format!(
                "{} is not a PEM private key (expected a -----BEGIN PRIVATE KEY----- block)",
                path.display()
            )));
        }
        return Ok(Some(pem.into()));
    }
    // The environment's secrets apply to whichever connection a command uses.
    if let Some(value) = connections.env_secret(kind) {
        return Ok(Some(value.clone()));
    }
    if !std::io::stdin().is_terminal() {
        return if required {
            Err(usage(format!(
                "no {}: set {} or run this in a terminal to be asked{}",
                kind.describe(),
                kind.env_var(),
                if kind == SecretKind::PrivateKey {
                    " (or pass --key-file)"
                } else {
                    ""
                }
            )))
        } else {
            Ok(None)
        };
    }
    let prompt = format!(
        "{}{}: ",
        capitalise(kind.describe()),
        if required { "" } else { " (Enter for none)" }
    );
    let value = rpassword::prompt_password(prompt).context("reading a secret from the terminal")?;
    if value.is_empty() {
        if required {
            return Err(usage(format!("no {} given", kind.describe())));
        }
        return Ok(None);
    }
    Ok(Some(value.into()))
}

/// Milliseconds since the epoch as an RFC 3339 UTC timestamp.
fn timestamp(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| millis.to_string())
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn list(connections: &Connections, args: JsonArg) -> anyhow::Result<Outcome> {
    let listing = connections.list()?;
    let rows = listing
        .profiles
        .iter()
        .map(|(name, p)| {
            json!({
                "name": name,
                "default": listing.default.as_deref() == Some(name.as_str()),
                "flow": p.flow.as_str(),
                "url": p.instance_url.clone().or(p.login_url.clone()).unwrap_or_else(|| "https://login.salesforce.com".into()),
                "username": p.verified.as_ref().and_then(|v| v.username.clone()).or(p.username.clone()),
                "api_version": p.api_version,
                "read_only": p.read_only,
            })
        })
        .collect::<Vec<_>>();
    if args.json {
        output::json(&rows)?;
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        output::stderr(
            "no connections yet: add one with `forcebridge connect add NAME --password` (see --help), or try `forcebridge demo`\n",
        );
        return Ok(Exit::Success);
    }
    let mut writer = crate::rows::RowWriter::new(crate::rows::Format::Table, std::io::stdout());
    for mut row in rows {
        let map = row.as_object_mut().expect("rows are objects");
        let marker = if map["default"] == Value::Bool(true) {
            "*"
        } else {
            ""
        };
        map.insert("default".into(), json!(marker));
        writer.write(map)?;
    }
    writer.finish()?;
    Ok(Exit::Success)
}

fn show(connections: &Connections, global: &GlobalArgs, args: NameArg) -> anyhow::Result<Outcome> {
    let name = connections.resolve_name(args.name.as_deref().or(global.connection.as_deref()))?;
    let profile = connections.get(&name)?;
    let secrets = connections.secrets(&name)?;
    let secret_state = profile
        .flow
        .secrets()
        .iter()
        .map(|&(kind, required)| {
            let state = if connections.env_secret(kind).is_some() {
                format!("from {}", kind.env_var())
            } else if secrets
                .get(kind)
                .is_some_and(|s| !s.expose_secret().is_empty())
            {
                format!("stored in {} (redacted)", profile.secrets.describe())
            } else if required {
                "missing".to_string()
            } else {
                "none".to_string()
            };
            (kind.describe().to_string(), state)
        })
        .collect::<Vec<_>>();
    // What is known about the kept session, never its token.
    let session = connections.cached_session(&name)?;
    let paths = connections.paths();
    if args.json {
        output::json(&json!({
            "name": name,
            "profile": profile,
            "secrets": secret_state.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "session": session.as_ref().map(|s| json!({
                "instance_url": s.instance_url,
                "issued_at": s.issued_at.map(timestamp),
                "expires_at": s.expires_at.map(timestamp),
                "usable": s.usable,
                "unusable_because": s.unusable,
            })),
            "profiles_file": paths.profiles,
            "secrets_file": paths.secrets,
            "secrets_in": profile.secrets,
        }))?;
        return Ok(Exit::Success);
    }
    let mut text = format!("{name}\n");
    let mut line = |key: &str, value: &str| text.push_str(&format!("  {key:<16}{value}\n"));
    line("flow", profile.flow.as_str());
    line(
        "login url",
        profile
            .login_url
            .as_deref()
            .unwrap_or("https://login.salesforce.com"),
    );
    if let Some(url) = &profile.instance_url {
        line("instance url", url);
    }
    line("api version", &profile.api_version);
    line("read-only", if profile.read_only { "yes" } else { "no" });
    if let Some(id) = &profile.client_id {
        line("consumer key", id);
    }
    if let Some(user) = &profile.username {
        line("username", user);
    }
    if let Some(uri) = &profile.redirect_uri {
        line("callback url", uri);
    }
    if let Some(path) = &profile.ca_file {
        line("ca file", &path.display().to_string());
    }
    for (kind, state) in &secret_state {
        line(kind, state);
    }
    if profile.flow != Flow::Token {
        let state = match &session {
            None => "none kept (the next command logs in)".to_string(),
            Some(s) => {
                let issued = s
                    .issued_at
                    .map(|t| format!(", issued {}", timestamp(t)))
                    .unwrap_or_default();
                match s.unusable {
                    None => format!(
                        "kept in {} (token redacted){issued}",
                        profile.secrets.describe()
                    ),
                    Some(why) => format!("kept but not used: {why}{issued}"),
                }
            }
        };
        line("session", &state);
    }
    if let Some(v) = &profile.verified {
        line("last checked", &v.at);
    }
    line("profiles file", &paths.profiles.display().to_string());
    match profile.secrets {
        forcebridge_connect::SecretLocation::File => {
            line("secrets file", &paths.secrets.display().to_string())
        }
        forcebridge_connect::SecretLocation::Keychain => {
            line("secrets", "OS keychain, service \"forcebridge\"")
        }
    }
    output::stdout(&text)?;
    Ok(Exit::Success)
}

async fn test(
    connections: &Connections,
    global: &GlobalArgs,
    args: NameArg,
) -> anyhow::Result<Outcome> {
    let name = connections.resolve_name(args.name.as_deref().or(global.connection.as_deref()))?;
    let (profile, builder) = connections.client_builder(&name)?;
    output::using_connection(Some(&name), profile.flow);
    let checked = check(builder, profile.flow)
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("connection {name:?} does not work")))?;
    let client = &checked.client;
    let versions = client.versions().await?;
    let newest = versions.iter().map(|v| v.version.clone()).max_by(|a, b| {
        let num = |v: &str| v.parse::<f64>().unwrap_or(0.0);
        num(a).total_cmp(&num(b))
    });
    let limits = serde_json::to_value(client.limits().await?)?;
    let daily = &limits["DailyApiRequests"];
    let usage = client.api_usage();
    connections.set_verified(&name, checked.verified.clone())?;
    let verified = &checked.verified;
    let report = json!({
        "name": name,
        "username": verified.username,
        "user_id": verified.user_id,
        "org_id": verified.org_id,
        "instance_url": checked.instance_url,
        "api_version": client.api_version().to_string(),
        "newest_api_version": newest,
        "read_only": profile.read_only,
        "api_usage": usage.map(|u| json!({ "used": u.used, "limit": u.max })),
        "daily_api_requests": { "max": daily["Max"], "remaining": daily["Remaining"] },
    });
    if args.json {
        output::json(&report)?;
    } else {
        let used = usage
            .map(|u| format!("{} of {} requests today", u.used, u.max))
            .unwrap_or_else(|| "unknown".into());
        output::stdout(&format!(
            "Connection {name:?} works.\n  user            {}\n  org             {}\n  instance        {}\n  api version     {} (newest the org supports: {})\n  api usage       {used}\n  read-only       {}\n",
            verified.username.as_deref().unwrap_or("?"),
            verified.org_id.as_deref().unwrap_or("?"),
            checked.instance_url,
            client.api_version(),
            newest.as_deref().unwrap_or("?"),
            if profile.read_only { "yes" } else { "no" },
        ))?;
    }
    Ok(Exit::Success)
}
