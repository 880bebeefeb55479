//! The web (authorization code) flow for `connect add --web`: prints the URL to open, waits for
//! the org to call back, and returns the refresh token.

use forcebridge_client::SecretString;
use forcebridge_connect::{Profile, Secrets};

use crate::cli::AddArgs;

pub(crate) async fn authorize(
    _profile: &Profile,
    _secrets: &Secrets,
    _args: &AddArgs,
) -> anyhow::Result<SecretString> {
    Err(crate::output::usage("the web flow is not wired yet"))
}
