//! Who may log in when the org listens where other machines can connect.
//!
//! The built-in user, password and app secret are printed in forcebridge's README, so on any
//! address but a loopback one they would let anyone who can connect log in and read or change
//! every record. [`check`] refuses such a start, saying what to add, unless the configuration
//! has users and an app of its own; then it leaves out the built-in `forcebridge-local` app,
//! whose secret is published (the org file cannot remove it: its apps are added to the
//! built-in ones). The Salesforce CLI's `PlatformCLI` app stays: it has no secret on real orgs
//! either, and logging in through it takes a configured user's password on the login page.
//! It deliberately judges only whether credentials are published, not whether the ones given
//! are strong.

use std::net::SocketAddr;

use crate::config::{
    Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_USERNAME,
};
use crate::{Error, ErrorKind};

/// The Salesforce CLI's client id, one of the built-in apps.
const PLATFORM_CLI: &str = "PlatformCLI";

/// The configuration to serve on `addr`: unchanged on a loopback address (or with
/// `insecure_public`), else without the built-in app, or an [`ErrorKind::Exposed`] error that
/// lists what would let anyone in.
pub(crate) fn check(mut config: Config, addr: SocketAddr) -> Result<Config, Error> {
    if addr.ip().to_canonical().is_loopback() {
        return Ok(config);
    }
    if config.insecure_public {
        tracing::warn!(%addr, "serving the built-in, published credentials beyond loopback (insecure_public)");
        return Ok(config);
    }
    let problems = problems(&config);
    if !problems.is_empty() {
        return Err(Error::new(ErrorKind::Exposed, refusal(addr, &problems)));
    }
    config.apps.retain(|app| !is_builtin_app(app));
    Ok(config)
}

fn is_builtin_app(app: &crate::AppConfig) -> bool {
    app.client_id == DEFAULT_CLIENT_ID && app.client_secret == DEFAULT_CLIENT_SECRET
}

/// Everything in `config` that anyone could log in with.
fn problems(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    for user in &config.users {
        if user.username.eq_ignore_ascii_case(DEFAULT_USERNAME) {
            problems.push(format!(
                "the built-in user {DEFAULT_USERNAME} (the org file has no [[users]] of its own, or keeps this one)"
            ));
        } else if user.password == DEFAULT_PASSWORD {
            problems.push(format!("user {} has the built-in password", user.username));
        }
    }
    for app in &config.apps {
        if !is_builtin_app(app) && app.client_secret == DEFAULT_CLIENT_SECRET {
            problems.push(format!(
                "app {} has the built-in client secret",
                app.client_id
            ));
        }
    }
    let own_apps = config
        .apps
        .iter()
        .filter(|app| !is_builtin_app(app) && app.client_id != PLATFORM_CLI)
        .count();
    if own_apps == 0 {
        problems.push("no connected app of the org's own (only the built-in ones)".to_string());
    }
    if config.auto_approve {
        problems.push(
            "auto_approve, which hands a session to anyone who opens the authorize URL, without a password"
                .to_string(),
        );
    }
    problems
}

fn refusal(addr: SocketAddr, problems: &[String]) -> String {
    let mut message = format!(
        "refusing to listen on {addr} with credentials anyone can know: other machines can connect there, and the built-in login (user {DEFAULT_USERNAME}, password {DEFAULT_PASSWORD}, app {DEFAULT_CLIENT_ID} with secret {DEFAULT_CLIENT_SECRET}) is published in forcebridge's documentation, so anyone who reaches the org could log in and read or change every record\n\nfound:\n"
    );
    for problem in problems {
        message.push_str(&format!("  - {problem}\n"));
    }
    message.push_str(
        "\ngive the org users and a connected app of its own (with them, the built-in app is left out); in an org file:\n\n\
         [[users]]\n\
         username = \"you@example.com\"\n\
         password = \"<a long random password>\"\n\n\
         [[apps]]\n\
         client_id = \"my-app\"\n\
         client_secret = \"<a long random secret>\"\n\n\
         (Config::users and Config::apps for a program that embeds the org), or listen on a loopback address (127.0.0.1) instead",
    );
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppConfig, UserConfig};

    fn everywhere() -> SocketAddr {
        "0.0.0.0:8080".parse().unwrap()
    }

    fn own_users_and_app() -> Config {
        let mut config = Config::builtin();
        config.users = vec![UserConfig {
            username: "jane@acme.test".into(),
            password: "a long secret".into(),
            security_token: String::new(),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: "jane@acme.test".into(),
        }];
        config.apps.push(AppConfig::new(
            "acme-app",
            "another secret",
            ["https://acme.test/cb"],
        ));
        config
    }

    #[test]
    fn loopback_addresses_keep_the_built_in_login() {
        for addr in [
            "127.0.0.1:0",
            "[::1]:0",
            "127.0.0.2:0",
            "[::ffff:127.0.0.1]:0",
        ] {
            let config = check(Config::builtin(), addr.parse().unwrap()).unwrap();
            assert_eq!(config.apps.len(), 2, "{addr}");
        }
    }

    #[test]
    fn beyond_loopback_the_built_in_login_is_refused_with_what_to_add() {
        for addr in ["0.0.0.0:8080", "[::]:8080", "192.168.1.20:8080"] {
            let error = check(Config::builtin(), addr.parse().unwrap()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Exposed);
            let message = error.to_string();
            assert!(
                message.starts_with(&format!(
                    "refusing to listen on {addr} with credentials anyone can know"
                )),
                "{message}"
            );
            assert!(
                message.contains("  - the built-in user admin@forcebridge.local"),
                "{message}"
            );
            assert!(
                message.contains("  - no connected app of the org's own"),
                "{message}"
            );
            assert!(
                message.contains("[[users]]\nusername = \"you@example.com\"\npassword = "),
                "{message}"
            );
            assert!(
                message.contains("[[apps]]\nclient_id = \"my-app\"\nclient_secret = "),
                "{message}"
            );
        }
    }

    #[test]
    fn own_users_and_an_app_are_served_without_the_published_app() {
        let config = check(own_users_and_app(), everywhere()).unwrap();
        let ids: Vec<&str> = config.apps.iter().map(|a| a.client_id.as_str()).collect();
        assert_eq!(ids, ["PlatformCLI", "acme-app"]);
    }

    #[test]
    fn each_published_credential_is_named() {
        let mut users_only = own_users_and_app();
        users_only.apps.retain(|a| a.client_id != "acme-app");
        let mut built_in_password = own_users_and_app();
        built_in_password.users[0].password = DEFAULT_PASSWORD.into();
        let mut built_in_secret = own_users_and_app();
        built_in_secret.apps[2].client_secret = DEFAULT_CLIENT_SECRET.into();
        let mut auto_approve = own_users_and_app();
        auto_approve.auto_approve = true;
        for (config, found) in [
            (users_only, "no connected app of the org's own"),
            (
                built_in_password,
                "user jane@acme.test has the built-in password",
            ),
            (
                built_in_secret,
                "app acme-app has the built-in client secret",
            ),
            (
                auto_approve,
                "auto_approve, which hands a session to anyone",
            ),
        ] {
            let error = check(config, everywhere()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Exposed);
            let message = error.to_string();
            assert!(message.contains(&format!("\n  - {found}")), "{message}");
            assert_eq!(message.matches("\n  - ").count(), 1, "{message}");
        }
    }

    #[test]
    fn insecure_public_keeps_everything() {
        let mut config = Config::builtin();
        config.insecure_public = true;
        let config = check(config, everywhere()).unwrap();
        assert_eq!(config.apps.len(), 2);
        assert_eq!(config.users[0].username, DEFAULT_USERNAME);
    }
}
