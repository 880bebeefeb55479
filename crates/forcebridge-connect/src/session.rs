//! The session cache: the access token a connection last logged in for, kept with its secrets
//! (in the secrets file, or an item of its own in the OS keychain) so that the next command,
//! or the next start of a server, uses it instead of logging in again.
//!
//! A kept session records what it was issued for (the flow, login URL, consumer key, username
//! and instance URL of the profile at the time), and is used only while the profile still says
//! the same, it is not known to have expired, and it belongs to the user the profile last
//! verified. This module holds the stored form and those rules; it does not read or write
//! files or the keychain, and it never logs a token.

use std::fmt;

use forcebridge_client::{ExposeSecret, Session};
use serde::{Deserialize, Serialize};

use crate::profile::{Flow, Profile};

/// What may be shown about a kept session: never its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The org's API host the session is for.
    pub instance_url: String,
    /// When the session was issued, in milliseconds since the epoch, when the org said.
    pub issued_at: Option<i64>,
    /// When it stops being accepted, in milliseconds since the epoch, when known (Salesforce's
    /// OAuth logins do not say; a refused session is replaced on the spot).
    pub expires_at: Option<i64>,
    /// Whether the connection will use it: it was issued for the connection's current
    /// settings and user, and is not known to have expired. `false` says why in
    /// [`SessionInfo::unusable`].
    pub usable: bool,
    /// Why it will not be used, when it will not.
    pub unusable: Option<&'static str>,
}

/// The settings of a profile that decide who logs in where: a kept session is used only while
/// they are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IssuedFor {
    flow: Flow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    instance_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
}

impl IssuedFor {
    fn of(profile: &Profile) -> IssuedFor {
        IssuedFor {
            flow: profile.flow,
            login_url: profile.login_url.clone(),
            instance_url: profile.instance_url.clone(),
            client_id: profile.client_id.clone(),
            username: profile.username.clone(),
        }
    }
}

/// A kept session as it is stored (a TOML table).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    access_token: String,
    instance_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    issued_for: IssuedFor,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("access_token", &"<redacted>")
            .field("instance_url", &self.instance_url)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("issued_for", &self.issued_for)
            .finish_non_exhaustive()
    }
}

impl SessionRecord {
    /// `session`, as issued for `profile`'s current settings. The refresh token it may carry
    /// is not kept here: it is one of the connection's secrets.
    pub(crate) fn new(session: &Session, profile: &Profile) -> SessionRecord {
        SessionRecord {
            access_token: session.access_token.expose_secret().to_string(),
            instance_url: session.instance_url.clone(),
            identity_url: session.identity_url.clone(),
            issued_at: session.issued_at,
            expires_at: session.expires_at,
            issued_for: IssuedFor::of(profile),
        }
    }

    /// The session to start a client from.
    pub(crate) fn session(&self) -> Session {
        let mut session = Session::new(self.access_token.clone(), &self.instance_url);
        session.identity_url = self.identity_url.clone();
        session.issued_at = self.issued_at;
        session.expires_at = self.expires_at;
        session
    }

    /// Why the session must not be used for `profile`, if it must not.
    pub(crate) fn unusable_for(&self, profile: &Profile) -> Option<&'static str> {
        if self.issued_for != IssuedFor::of(profile) {
            return Some("it was issued for other connection settings");
        }
        let session = self.session();
        if let (Some(verified), Some((_, user))) = (
            profile.verified.as_ref().and_then(|v| v.user_id.as_deref()),
            session.org_and_user_ids(),
        ) && verified != user
        {
            return Some("it was issued to another user");
        }
        if session.is_expired() {
            return Some("it has expired");
        }
        None
    }

    /// What may be shown about it, for `profile`.
    pub(crate) fn info(&self, profile: &Profile) -> SessionInfo {
        let unusable = self.unusable_for(profile);
        SessionInfo {
            instance_url: self.instance_url.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            usable: unusable.is_none(),
            unusable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Verified;

    fn profile() -> Profile {
        let mut profile = Profile::new(Flow::Password);
        profile.login_url = Some("https://login.salesforce.com".into());
        profile.client_id = Some("key".into());
        profile.username = Some("me@acme.com".into());
        profile
    }

    fn session() -> Session {
        let mut session = Session::new("00D!secret-token", "https://acme.my.salesforce.com");
        session.identity_url =
            Some("https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA".into());
        session.issued_at = Some(1_700_000_000_000);
        session
    }

    #[test]
    fn a_kept_session_serves_only_the_settings_and_user_it_was_issued_for() {
        let record = SessionRecord::new(&session(), &profile());
        assert_eq!(record.unusable_for(&profile()), None);
        // Another user, flow, login host, app or instance: not used.
        let changes: [fn(&mut Profile); 5] = [
            |p| p.username = Some("other@acme.com".into()),
            |p| p.flow = Flow::Jwt,
            |p| p.login_url = Some("https://test.salesforce.com".into()),
            |p| p.client_id = Some("other-key".into()),
            |p| p.instance_url = Some("https://other.my.salesforce.com".into()),
        ];
        for change in changes {
            let mut changed = profile();
            change(&mut changed);
            assert_eq!(
                record.unusable_for(&changed),
                Some("it was issued for other connection settings")
            );
        }
        // Settings that do not decide who logs in where leave it usable.
        let mut changed = profile();
        changed.read_only = true;
        changed.api_version = "61.0".into();
        assert_eq!(record.unusable_for(&changed), None);
        // A profile that verified another user does not take it.
        let mut verified = profile();
        verified.verified = Some(Verified {
            at: "2026-01-01T00:00:00Z".into(),
            org_id: None,
            user_id: Some("005000000000002AAA".into()),
            username: None,
        });
        assert_eq!(
            record.unusable_for(&verified),
            Some("it was issued to another user")
        );
    }

    #[test]
    fn an_expired_session_is_not_used_and_no_token_is_shown() {
        let mut expired = session();
        expired.expires_at = Some(1);
        let record = SessionRecord::new(&expired, &profile());
        let info = record.info(&profile());
        assert!(!info.usable);
        assert_eq!(info.unusable, Some("it has expired"));
        assert!(!format!("{record:?}{info:?}").contains("secret-token"));
        // The stored form round-trips.
        let text = toml::to_string(&record).unwrap();
        let back: SessionRecord = toml::from_str(&text).unwrap();
        assert_eq!(
            back.session().access_token.expose_secret(),
            "00D!secret-token"
        );
        assert_eq!(back.session().expires_at, Some(1));
    }
}
