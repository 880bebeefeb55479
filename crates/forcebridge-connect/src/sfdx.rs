//! The Salesforce CLI's auth URL, to import a connection the CLI already has: what
//! `sf org display --verbose` prints as "Sfdx Auth Url", and `sf org login sfdx-url` reads.
//!
//! The grammar, as the Salesforce CLI writes it (sfdx-core's `AuthInfo.getSfdxAuthUrl`) and
//! reads it (`AuthInfo.parseSfdxAuthUrl`):
//!
//! ```text
//! force://<clientId>:<clientSecret>:<refreshToken>@<instance>
//! force://<clientId>::<refreshToken>@<instance>        (an app without a secret)
//! force://<refreshToken>@<instance>                    (written when no client id is known:
//!                                                       the CLI's own app, PlatformCLI)
//! ```
//!
//! `<instance>` is the host the token refreshes at (the Salesforce CLI writes the instance URL
//! without its `https://` and logs in there); a scheme is accepted too (`http://` for a local
//! org). Values are taken as they are, after decoding any `%XX` escapes. The file may hold the
//! URL alone, the text `sf org display --verbose` prints, or the JSON `sf org display --verbose
//! --json` prints (`result.sfdxAuthUrl`). This module only reads; nothing in it ever puts a
//! secret in a message.

use std::fmt;

use forcebridge_client::{LoginUrl, SecretString};

use crate::error::{Error, Result};
use crate::profile::{Flow, Profile};
use crate::secrets::{SecretKind, Secrets};

/// The client id the Salesforce CLI uses when an auth URL names none: its own connected app.
pub const SALESFORCE_CLI_CLIENT_ID: &str = "PlatformCLI";

/// The form every message about a bad auth URL shows.
const EXPECTED: &str = "expected force://<clientId>:<clientSecret>:<refreshToken>@<instanceUrl>, as `sf org display --verbose` prints it";

/// A Salesforce CLI auth URL, read. `Debug` hides the secret and the refresh token.
#[derive(Clone)]
pub struct SfdxAuthUrl {
    /// The connected app's consumer key.
    pub client_id: String,
    /// The consumer secret, when the app has one.
    pub client_secret: Option<SecretString>,
    /// The refresh token.
    pub refresh_token: SecretString,
    /// Where the token is refreshed: the org's instance (or My Domain).
    pub login_url: LoginUrl,
}

impl fmt::Debug for SfdxAuthUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SfdxAuthUrl")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("refresh_token", &"<redacted>")
            .field("login_url", &self.login_url)
            .finish()
    }
}

impl SfdxAuthUrl {
    /// Reads an auth URL (`force://...`), surrounding whitespace aside.
    pub fn parse(text: &str) -> Result<SfdxAuthUrl> {
        let text = text.trim();
        let rest = text.strip_prefix("force://").ok_or_else(|| {
            Error::invalid(format!(
                "not a Salesforce CLI auth URL (it must start with force://): {EXPECTED}"
            ))
        })?;
        // A host never holds an `@`, and neither do the values, whose alphabet is
        // `[A-Za-z0-9._=-]`: the last one ends the credentials.
        let (credentials, instance) = rest.rsplit_once('@').ok_or_else(|| {
            Error::invalid(format!(
                "the Salesforce CLI auth URL has no @<instanceUrl>: {EXPECTED}"
            ))
        })?;
        let parts: Vec<&str> = credentials.split(':').collect();
        let (client_id, client_secret, refresh_token) = match parts.as_slice() {
            [token] => (SALESFORCE_CLI_CLIENT_ID.to_string(), None, *token),
            [id, secret, token] => (
                decode(id),
                (!secret.is_empty()).then(|| decode(secret)),
                *token,
            ),
            _ => {
                return Err(Error::invalid(format!(
                    "the Salesforce CLI auth URL's credentials are not <clientId>:<clientSecret>:<refreshToken>: {EXPECTED}"
                )));
            }
        };
        if client_id.is_empty() {
            return Err(Error::invalid(format!(
                "the Salesforce CLI auth URL has an empty client id: {EXPECTED}"
            )));
        }
        if refresh_token.is_empty() {
            return Err(Error::invalid(format!(
                "the Salesforce CLI auth URL has an empty refresh token: {EXPECTED}"
            )));
        }
        let instance = instance.trim_end_matches('/');
        let url = if instance.contains("://") {
            instance.to_string()
        } else {
            format!("https://{instance}")
        };
        let login_url = LoginUrl::custom(&url).map_err(|_| {
            Error::invalid(format!(
                "the Salesforce CLI auth URL's instance {instance:?} is not a host name: {EXPECTED}"
            ))
        })?;
        Ok(SfdxAuthUrl {
            client_id,
            client_secret: client_secret.map(SecretString::from),
            refresh_token: SecretString::from(decode(refresh_token)),
            login_url,
        })
    }

    /// Reads the auth URL out of a file's contents: the JSON `sf org display --verbose --json`
    /// prints (`result.sfdxAuthUrl`, or a top-level `sfdxAuthUrl`), or text holding the URL
    /// (the URL alone, or `sf org display --verbose`'s table).
    pub fn from_file_contents(text: &str) -> Result<SfdxAuthUrl> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            // serde_json's messages say where, never what, so they may be shown.
            let json: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| {
                Error::invalid(format!(
                    "the file is not valid JSON ({e}); expected what `sf org display --verbose --json` prints"
                ))
            })?;
            let url = json
                .pointer("/result/sfdxAuthUrl")
                .or_else(|| json.get("sfdxAuthUrl"))
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| {
                    Error::invalid(
                        "the JSON has no result.sfdxAuthUrl: print it with `sf org display --verbose --json` (--verbose includes the auth URL)",
                    )
                })?;
            return SfdxAuthUrl::parse(url);
        }
        let url = text
            .split_whitespace()
            .find(|word| word.starts_with("force://"))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "the file holds no Salesforce CLI auth URL (force://...): {EXPECTED}"
                ))
            })?;
        SfdxAuthUrl::parse(url)
    }

    /// A web-flow profile (a connection that logs in with a refresh token) for this URL, with
    /// the default API version; its secrets are [`SfdxAuthUrl::secrets`].
    pub fn profile(&self) -> Profile {
        let mut profile = Profile::new(Flow::Web);
        profile.login_url = Some(self.login_url.to_string());
        profile.client_id = Some(self.client_id.clone());
        profile
    }

    /// The secrets of the connection: the refresh token, and the consumer secret if any.
    pub fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::default();
        secrets.set(SecretKind::RefreshToken, self.refresh_token.clone());
        if let Some(secret) = &self.client_secret {
            secrets.set(SecretKind::ClientSecret, secret.clone());
        }
        secrets
    }
}

/// `text` with `%XX` escapes decoded (anything else, or a broken escape, as it is).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(&high), Some(&low)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(high), Some(low)) = (hex(high), hex(low))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use forcebridge_client::ExposeSecret;

    use super::*;

    const TOKEN: &str =
        "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrfh35WbyvWqC9CWz1cMkrdY3Qsy.3ZlUmJgTvdbH4PjhqOVgfi";

    #[test]
    fn every_form_the_salesforce_cli_writes_is_read() {
        let url = SfdxAuthUrl::parse(&format!(
            "force://3MVG9abc.def:1384510088588713504:{TOKEN}@acme.my.salesforce.com"
        ))
        .unwrap();
        assert_eq!(url.client_id, "3MVG9abc.def");
        assert_eq!(
            url.client_secret.as_ref().unwrap().expose_secret(),
            "1384510088588713504"
        );
        assert_eq!(url.refresh_token.expose_secret(), TOKEN);
        assert_eq!(url.login_url.as_str(), "https://acme.my.salesforce.com");

        // No secret.
        let url = SfdxAuthUrl::parse(&format!(
            "force://PlatformCLI::{TOKEN}@test.salesforce.com/"
        ))
        .unwrap();
        assert!(url.client_secret.is_none());
        assert_eq!(url.login_url.as_str(), "https://test.salesforce.com");

        // No client id at all: the Salesforce CLI's own app.
        let url = SfdxAuthUrl::parse(&format!("  force://{TOKEN}@na1.salesforce.com\n")).unwrap();
        assert_eq!(url.client_id, SALESFORCE_CLI_CLIENT_ID);

        // A scheme and a port (a local org); escapes decoded.
        let url = SfdxAuthUrl::parse("force://id:s%3Dx:tok%3D%3D@http://127.0.0.1:8080").unwrap();
        assert_eq!(url.login_url.as_str(), "http://127.0.0.1:8080");
        assert_eq!(url.client_secret.unwrap().expose_secret(), "s=x");
        assert_eq!(url.refresh_token.expose_secret(), "tok==");

        let profile = SfdxAuthUrl::parse(&format!("force://id::{TOKEN}@acme.my.salesforce.com"))
            .unwrap()
            .profile();
        assert_eq!(profile.flow, Flow::Web);
        assert_eq!(profile.client_id.as_deref(), Some("id"));
        profile.validate().unwrap();
    }

    #[test]
    fn a_file_may_hold_the_url_the_display_text_or_the_json() {
        let plain = format!("force://id:secret:{TOKEN}@acme.my.salesforce.com\n");
        let text = format!(
            "=== Org Description\n\n KEY            VALUE\n Access Token   00D!x\n Sfdx Auth Url  {}\n Username       me@acme.com\n",
            plain.trim()
        );
        let json = format!(
            r#"{{"status":0,"result":{{"id":"00D","sfdxAuthUrl":"{}","username":"me@acme.com"}},"warnings":[]}}"#,
            plain.trim()
        );
        let flat = format!(r#"{{"sfdxAuthUrl":"{}"}}"#, plain.trim());
        for contents in [&plain, &text, &json, &flat] {
            let url = SfdxAuthUrl::from_file_contents(contents).unwrap();
            assert_eq!(url.refresh_token.expose_secret(), TOKEN, "{contents}");
        }
    }

    #[test]
    fn a_bad_url_is_refused_without_echoing_it() {
        for bad in [
            format!("https://id:secret:{TOKEN}@acme.my.salesforce.com"),
            format!("force://id:secret:{TOKEN}"),
            format!("force://id:{TOKEN}@acme.my.salesforce.com"),
            format!("force://:secret:{TOKEN}@acme.my.salesforce.com"),
            "force://id:secret:@acme.my.salesforce.com".to_string(),
            format!("force://id:secret:{TOKEN}@not a host"),
        ] {
            let error = SfdxAuthUrl::parse(&bad).unwrap_err();
            let text = error.to_string();
            assert!(text.contains("force://<clientId>"), "{text}");
            assert!(!text.contains(TOKEN) && !text.contains("secret:"), "{text}");
        }
        let error = SfdxAuthUrl::from_file_contents(r#"{"status":0,"result":{"username":"x"}}"#)
            .unwrap_err();
        assert!(error.to_string().contains("--verbose"), "{error}");
        let error = SfdxAuthUrl::from_file_contents(&format!("{{\"a\": \"{TOKEN}")).unwrap_err();
        assert!(!error.to_string().contains(TOKEN), "{error}");
        let error = SfdxAuthUrl::from_file_contents("nothing here").unwrap_err();
        assert!(error.to_string().contains("holds no"), "{error}");
        let url = SfdxAuthUrl::parse(&format!("force://id:s:{TOKEN}@acme.my.salesforce.com"));
        assert!(!format!("{:?}", url.unwrap()).contains(TOKEN));
    }
}
