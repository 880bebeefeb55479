//! The web (authorization code) flow for `connect add --web`: prints the URL to open, waits for
//! the org to call back on the local callback URL, and returns the refresh token.

use std::time::Duration;

use anyhow::Context;
use forcebridge_client::SecretString;
use forcebridge_client::auth::WebServerFlow;
use forcebridge_connect::{Profile, SecretKind, Secrets};

use crate::cli::AddArgs;
use crate::output;

/// Scopes the connection asks for: the API, and a refresh token that keeps working.
const SCOPES: [&str; 3] = ["api", "refresh_token", "offline_access"];

pub(crate) async fn authorize(
    profile: &Profile,
    secrets: &Secrets,
    args: &AddArgs,
) -> anyhow::Result<SecretString> {
    let mut flow = WebServerFlow::new(
        profile.login_url()?,
        profile.client_id.clone().unwrap_or_default(),
    );
    flow.client_secret = secrets.get(SecretKind::ClientSecret).cloned();
    flow.redirect_uri = args.callback_url.clone();
    flow.pkce = !args.no_pkce;
    flow.timeout = Duration::from_secs(args.wait);
    flow.scopes = SCOPES.iter().map(|s| s.to_string()).collect();
    let pending = flow.start().await.context("cannot start the web login")?;
    output::stderr(&format!(
        "Open this URL in a browser and log in (waiting up to {}s):\n\n  {}\n\n\
         The app must list this exact callback URL: {}\n",
        args.wait,
        pending.authorize_url(),
        pending.redirect_uri(),
    ));
    open_browser(pending.authorize_url());
    let login = pending.finish().await.context("the web login failed")?;
    let token = login
        .refresh
        .map(|r| r.refresh_token)
        .or(login.session.refresh_token);
    token.ok_or_else(|| {
        output::usage(
            "the org gave no refresh token: add the refresh_token and offline_access scopes to the app",
        )
    })
}

/// Opens the URL in the user's browser when there is someone at a terminal to see it.
fn open_browser(url: &str) {
    if !output::stderr_is_terminal() {
        return;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
