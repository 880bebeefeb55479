//! The web (authorization code) flow for `connect add --web` and `connect login`: prints the
//! URL to open, waits for the org to call back on the local callback URL, and returns the
//! refresh token. The flow's settings are the connection's (`forcebridge_connect::web_flow`).

use std::time::Duration;

use anyhow::Context;
use forcebridge_client::SecretString;
use forcebridge_connect::{Profile, Secrets};

use crate::output;

/// Runs the browser login of `profile` (a web-flow connection) with `secrets` (its consumer
/// secret, if any), waiting up to `wait` seconds, and returns the refresh token it got.
pub(crate) async fn authorize(
    profile: &Profile,
    secrets: &Secrets,
    wait: u64,
) -> anyhow::Result<SecretString> {
    let mut flow = forcebridge_connect::web_flow(profile, secrets)?;
    flow.timeout = Duration::from_secs(wait);
    let pending = flow.start().await.context("cannot start the web login")?;
    output::stderr(&format!(
        "Open this URL in a browser and log in (waiting up to {wait}s):\n\n  {}\n\n\
         The app must list this exact callback URL: {}\n",
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
