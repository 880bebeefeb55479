//! A connection profile: everything about a connection except its secrets.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use forcebridge_client::{ApiVersion, LoginUrl};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secrets::SecretKind;

/// How a connection logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// OAuth username-password: consumer key and secret, username, password and security token.
    Password,
    /// OAuth client credentials: consumer key and secret, against a My Domain.
    ClientCredentials,
    /// Authorization code (web server) flow; the connection keeps the refresh token it got.
    Web,
    /// JWT bearer: consumer key, username and the private key whose certificate the app holds.
    Jwt,
    /// An access token and instance URL obtained elsewhere. It cannot be renewed.
    Token,
}

impl Flow {
    pub const ALL: [Flow; 5] = [
        Flow::Password,
        Flow::ClientCredentials,
        Flow::Web,
        Flow::Jwt,
        Flow::Token,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Password => "password",
            Flow::ClientCredentials => "client-credentials",
            Flow::Web => "web",
            Flow::Jwt => "jwt",
            Flow::Token => "token",
        }
    }

    /// The secrets a connection of this flow needs, and whether each is required.
    pub fn secrets(self) -> &'static [(SecretKind, bool)] {
        match self {
            Flow::Password => &[
                (SecretKind::ClientSecret, true),
                (SecretKind::Password, true),
                (SecretKind::SecurityToken, false),
            ],
            Flow::ClientCredentials => &[(SecretKind::ClientSecret, true)],
            Flow::Web => &[
                (SecretKind::ClientSecret, false),
                (SecretKind::RefreshToken, true),
            ],
            Flow::Jwt => &[(SecretKind::PrivateKey, true)],
            Flow::Token => &[(SecretKind::AccessToken, true)],
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flow {
    type Err = Error;

    fn from_str(text: &str) -> Result<Flow> {
        Flow::ALL
            .into_iter()
            .find(|flow| flow.as_str() == text)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown login flow {text:?}: expected one of password, client-credentials, web, jwt, token"
                ))
            })
    }
}

/// The settings of one named connection. Secrets are not here: they live in a
/// [`SecretStore`](crate::SecretStore), so this can be shown, copied and committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub flow: Flow,
    /// Where the flow logs in: `https://login.salesforce.com`, `https://test.salesforce.com`, a
    /// My Domain, or any URL. Unused by the token flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
    /// The org's API host, when known (the token flow needs it; logins report it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    /// The API version every request uses, such as `60.0`.
    pub api_version: String,
    /// Refuse every write before it is sent.
    #[serde(default)]
    pub read_only: bool,
    /// The connected app's consumer key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The web flow's callback URL, as registered in the connected app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Whether the web flow used PKCE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce: Option<bool>,
    /// A PEM file of certificate authorities to trust besides the system's, for an org served
    /// over HTTPS with a private authority (a local org: the `ca.pem` that
    /// `forcebridge emulator --tls` writes). Read each time a client is built; a file that
    /// cannot be read, or holds no certificate, is an error naming it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Where the connection's secrets are kept.
    #[serde(default, skip_serializing_if = "SecretLocation::is_file")]
    pub secrets: SecretLocation,
    /// Facts recorded by the last successful check (`connect add` or `connect test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verified>,
}

/// Where a connection's secrets are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretLocation {
    /// The secrets file (mode 0600).
    #[default]
    File,
    /// The OS keychain.
    Keychain,
}

impl SecretLocation {
    pub fn is_file(&self) -> bool {
        *self == SecretLocation::File
    }

    pub fn describe(self) -> &'static str {
        match self {
            SecretLocation::File => "the secrets file",
            SecretLocation::Keychain => "the OS keychain",
        }
    }
}

/// What the last successful check learnt about the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verified {
    /// When, as an RFC 3339 UTC timestamp.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl Profile {
    /// A profile for `flow` with the default login host and API version.
    pub fn new(flow: Flow) -> Profile {
        Profile {
            flow,
            login_url: None,
            instance_url: None,
            api_version: ApiVersion::DEFAULT.to_string(),
            read_only: false,
            client_id: None,
            username: None,
            redirect_uri: None,
            pkce: None,
            ca_file: None,
            secrets: SecretLocation::File,
            verified: None,
        }
    }

    /// The parsed API version.
    pub fn api_version(&self) -> Result<ApiVersion> {
        self.api_version
            .parse()
            .map_err(|e: forcebridge_client::Error| Error::invalid(e.to_string()))
    }

    /// The login URL, `https://login.salesforce.com` when none is set.
    pub fn login_url(&self) -> Result<LoginUrl> {
        match &self.login_url {
            None => Ok(LoginUrl::production()),
            Some(url) => parse_login_url(url),
        }
    }

    /// Checks that the profile has what its flow needs (not the secrets).
    pub fn validate(&self) -> Result<()> {
        self.api_version()?;
        if self.flow != Flow::Token {
            self.login_url()?;
            self.require(&self.client_id, "a consumer key (client id)")?;
        }
        match self.flow {
            Flow::Password | Flow::Jwt => {
                self.require(&self.username, "a username")?;
            }
            Flow::ClientCredentials => {
                if self.login_url.is_none() {
                    return Err(Error::invalid(
                        "the client-credentials flow needs the org's My Domain URL as the login URL \
                         (login.salesforce.com does not accept it)",
                    ));
                }
            }
            Flow::Token => {
                self.require(&self.instance_url, "an instance URL")?;
            }
            Flow::Web => {}
        }
        Ok(())
    }

    fn require(&self, value: &Option<String>, what: &str) -> Result<()> {
        match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Ok(()),
            _ => Err(Error::invalid(format!(
                "the {} flow needs {what}",
                self.flow
            ))),
        }
    }
}

/// `login`, `test`, a My Domain name (`acme`, `acme.my.salesforce.com`) or any URL.
pub fn parse_login_url(text: &str) -> Result<LoginUrl> {
    let text = text.trim();
    let parsed = match text {
        "login" | "production" => Ok(LoginUrl::production()),
        "test" | "sandbox" => Ok(LoginUrl::sandbox()),
        _ if text.contains("://") => LoginUrl::custom(text),
        _ => LoginUrl::my_domain(text),
    };
    parsed.map_err(|e| Error::invalid(e.to_string()))
}

/// A connection name: letters, digits, `-`, `_` and `.`, so it is safe as a file or key name.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid connection name {name:?}: use up to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_url_shorthands() {
        assert_eq!(
            parse_login_url("test").unwrap().as_str(),
            "https://test.salesforce.com"
        );
        assert_eq!(
            parse_login_url("acme").unwrap().as_str(),
            "https://acme.my.salesforce.com"
        );
        assert_eq!(
            parse_login_url("http://127.0.0.1:8080/").unwrap().as_str(),
            "http://127.0.0.1:8080"
        );
        assert!(parse_login_url("not a host").is_err());
    }

    #[test]
    fn profiles_say_what_their_flow_lacks() {
        let mut profile = Profile::new(Flow::Password);
        profile.client_id = Some("key".into());
        let error = profile.validate().unwrap_err();
        assert_eq!(error.to_string(), "the password flow needs a username");
        profile.username = Some("me@example.com".into());
        profile.validate().unwrap();

        let mut profile = Profile::new(Flow::ClientCredentials);
        profile.client_id = Some("key".into());
        assert!(
            profile
                .validate()
                .unwrap_err()
                .to_string()
                .contains("My Domain")
        );

        profile.api_version = "sixty".into();
        assert!(
            profile
                .validate()
                .unwrap_err()
                .to_string()
                .contains("API version")
        );
    }

    #[test]
    fn names_are_safe_as_keys() {
        validate_name("prod").unwrap();
        validate_name("acme-dev_2.sandbox").unwrap();
        for bad in ["", "../x", ".hidden", "a b", "a/b"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
