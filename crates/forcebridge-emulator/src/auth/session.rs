//! Access and refresh tokens, authorization codes and browser sessions: issuing, checking,
//! expiring and revoking them.
//!
//! Tokens are random and opaque; an access token has the org id and `!` in front, as real ones
//! do (`00DRO0000000001!AQ8A...`), so clients that split on `!` find the org id. Sessions live in
//! memory only: a restarted org asks everyone to log in again, as an expired session would.
//! Nothing here knows about HTTP; the handlers in this module's siblings decide who gets what.
//! No `Debug` output in this file shows a token: they are credentials.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::RecordId;

/// What an access token stands for.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The User record's id.
    pub user: RecordId,
    /// Index of the user in the org's configured users.
    pub user_index: usize,
    /// The connected app the token was issued to (none for SOAP login).
    pub client_id: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub scopes: Vec<String>,
    /// The refresh token this access token was minted from, so revoking it revokes both.
    pub refresh_token: Option<String>,
}

/// A refresh token's grant: who, for which app, with which scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefreshGrant {
    pub user: RecordId,
    pub user_index: usize,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// What an authorization code from `/services/oauth2/authorize` stands for, until it is
/// exchanged at the token endpoint (once) or expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthorizationCode {
    pub user: RecordId,
    pub user_index: usize,
    pub client_id: String,
    /// The `redirect_uri` given at `/authorize`; the exchange must repeat it exactly.
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// The PKCE `code_challenge` (base64url of the SHA-256 of the verifier), when one was given.
    pub code_challenge: Option<String>,
    pub expires_at: i64,
}

/// How long an authorization code can be exchanged: 15 minutes, as Salesforce documents.
pub(crate) const AUTHORIZATION_CODE_LIFETIME_MILLIS: i64 = 15 * 60 * 1000;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Unknown,
    Expired,
}

#[derive(Default)]
struct Inner {
    access: HashMap<String, Session>,
    refresh: HashMap<String, RefreshGrant>,
    codes: HashMap<String, AuthorizationCode>,
    /// Browser sessions of the login page (`sid` cookie): the configured user's index and when
    /// the session ends.
    browser: HashMap<String, (usize, i64)>,
}

/// Every live token of the org.
pub(crate) struct Sessions {
    org_id: String,
    lifetime_millis: i64,
    inner: Mutex<Inner>,
}

/// A new random token body: 32 random bytes, base64url.
pub(crate) fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Sessions {
    pub(crate) fn new(org_id: &str, lifetime: std::time::Duration) -> Sessions {
        Sessions {
            org_id: org_id.to_string(),
            lifetime_millis: i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues an access token for `session` (its `issued_at` and `expires_at` are set here).
    pub(crate) fn issue(&self, mut session: Session, now: i64) -> String {
        session.issued_at = now;
        session.expires_at = now.saturating_add(self.lifetime_millis);
        let token = format!(
            "{}!{}",
            &self.org_id[..15.min(self.org_id.len())],
            random_token()
        );
        self.lock().access.insert(token.clone(), session);
        token
    }

    /// Issues a refresh token.
    pub(crate) fn issue_refresh(&self, grant: RefreshGrant) -> String {
        let token = format!("5Aep861{}", random_token());
        self.lock().refresh.insert(token.clone(), grant);
        token
    }

    /// The session behind an access token, if it is known and not expired.
    pub(crate) fn check(&self, token: &str, now: i64) -> Result<Session, TokenProblem> {
        let mut inner = self.lock();
        let Some(session) = inner.access.get(token) else {
            return Err(TokenProblem::Unknown);
        };
        if session.expires_at <= now {
            inner.access.remove(token);
            return Err(TokenProblem::Expired);
        }
        Ok(session.clone())
    }

    pub(crate) fn refresh_grant(&self, token: &str) -> Option<RefreshGrant> {
        self.lock().refresh.get(token).cloned()
    }

    /// Revokes an access or refresh token. Revoking a refresh token also revokes every access
    /// token minted from it. Returns whether the token was known.
    pub(crate) fn revoke(&self, token: &str) -> bool {
        let mut inner = self.lock();
        if inner.access.remove(token).is_some() {
            return true;
        }
        if inner.refresh.remove(token).is_some() {
            inner
                .access
                .retain(|_, s| s.refresh_token.as_deref() != Some(token));
            return true;
        }
        false
    }

    /// Exchanges an old refresh token for a new one with the same grant, atomically: the old
    /// one stops working, and access tokens minted from it now belong to the new one (so
    /// revoking the new one revokes them too). `None` if the old token is not live, which is
    /// also what the loser of two concurrent refreshes with one token gets.
    pub(crate) fn rotate_refresh(&self, old: &str) -> Option<(String, RefreshGrant)> {
        let mut inner = self.lock();
        let grant = inner.refresh.remove(old)?;
        let new = format!("5Aep861{}", random_token());
        inner.refresh.insert(new.clone(), grant.clone());
        for session in inner.access.values_mut() {
            if session.refresh_token.as_deref() == Some(old) {
                session.refresh_token = Some(new.clone());
            }
        }
        Some((new, grant))
    }

    /// Issues an authorization code. Expired codes are dropped here, so the map stays small.
    pub(crate) fn issue_code(&self, code: AuthorizationCode, now: i64) -> String {
        let token = random_token();
        let mut inner = self.lock();
        inner.codes.retain(|_, c| c.expires_at > now);
        inner.codes.insert(token.clone(), code);
        token
    }

    /// Takes an authorization code out of the store: any attempt to exchange a code uses it up,
    /// so a code works at most once. The caller checks expiry, client and redirect URI.
    pub(crate) fn redeem_code(&self, code: &str) -> Option<AuthorizationCode> {
        self.lock().codes.remove(code)
    }

    /// Opens a browser session for the login page (the value of the `sid` cookie). It lasts as
    /// long as an access token.
    pub(crate) fn open_browser_session(&self, user_index: usize, now: i64) -> String {
        let sid = random_token();
        let expires_at = now.saturating_add(self.lifetime_millis);
        let mut inner = self.lock();
        inner.browser.retain(|_, (_, end)| *end > now);
        inner.browser.insert(sid.clone(), (user_index, expires_at));
        sid
    }

    /// The user of a live browser session.
    pub(crate) fn browser_session(&self, sid: &str, now: i64) -> Option<usize> {
        let inner = self.lock();
        let (user_index, expires_at) = inner.browser.get(sid)?;
        (*expires_at > now).then_some(*user_index)
    }

    /// Makes every access token expire now (tests of session expiry in long jobs).
    pub(crate) fn expire_all(&self) {
        self.lock()
            .access
            .values_mut()
            .for_each(|s| s.expires_at = i64::MIN);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("user_index", &self.user_index)
            .field("client_id", &self.client_id)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Sessions")
            .field("access_tokens", &inner.access.len())
            .field("refresh_tokens", &inner.refresh.len())
            .field("authorization_codes", &inner.codes.len())
            .field("browser_sessions", &inner.browser.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            user: RecordId::new("005", 1),
            user_index: 0,
            client_id: Some("app".into()),
            issued_at: 0,
            expires_at: 0,
            scopes: vec!["api".into()],
            refresh_token: None,
        }
    }

    #[test]
    fn tokens_expire_and_revoking_a_refresh_token_revokes_its_access_tokens() {
        let sessions = Sessions::new("00DRO0000000001AAA", std::time::Duration::from_secs(60));
        let token = sessions.issue(session(), 1_000);
        assert!(token.starts_with("00DRO0000000001!"));
        assert!(sessions.check(&token, 1_000 + 59_999).is_ok());
        assert_eq!(
            sessions.check(&token, 1_000 + 60_000),
            Err(TokenProblem::Expired)
        );
        assert_eq!(sessions.check("nope", 0), Err(TokenProblem::Unknown));

        let refresh = sessions.issue_refresh(RefreshGrant {
            user: RecordId::new("005", 1),
            user_index: 0,
            client_id: "app".into(),
            scopes: vec![],
        });
        let minted = sessions.issue(
            Session {
                refresh_token: Some(refresh.clone()),
                ..session()
            },
            0,
        );
        assert!(sessions.revoke(&refresh));
        assert_eq!(sessions.check(&minted, 1), Err(TokenProblem::Unknown));
        assert!(!sessions.revoke(&refresh));
    }

    #[test]
    fn rotation_moves_sessions_to_the_new_refresh_token_and_works_once() {
        let sessions = Sessions::new("00DRO0000000001AAA", std::time::Duration::from_secs(60));
        let old = sessions.issue_refresh(RefreshGrant {
            user: RecordId::new("005", 1),
            user_index: 0,
            client_id: "app".into(),
            scopes: vec!["api".into()],
        });
        let minted = sessions.issue(
            Session {
                refresh_token: Some(old.clone()),
                ..session()
            },
            0,
        );
        let (new, grant) = sessions.rotate_refresh(&old).unwrap();
        assert_eq!(grant.client_id, "app");
        assert!(
            sessions.rotate_refresh(&old).is_none(),
            "the old token is retired"
        );
        assert!(sessions.refresh_grant(&old).is_none());
        assert!(sessions.revoke(&new));
        assert_eq!(sessions.check(&minted, 1), Err(TokenProblem::Unknown));
    }

    #[test]
    fn codes_are_single_use_and_debug_output_shows_no_tokens() {
        let sessions = Sessions::new("00DRO0000000001AAA", std::time::Duration::from_secs(60));
        let code = sessions.issue_code(
            AuthorizationCode {
                user: RecordId::new("005", 1),
                user_index: 0,
                client_id: "app".into(),
                redirect_uri: "http://localhost/cb".into(),
                scopes: vec![],
                code_challenge: None,
                expires_at: 100,
            },
            0,
        );
        let access = sessions.issue(session(), 0);
        let debug = format!("{sessions:?}");
        assert!(
            !debug.contains(&code) && !debug.contains(&access),
            "{debug}"
        );
        assert!(sessions.redeem_code(&code).is_some());
        assert!(sessions.redeem_code(&code).is_none());
        let sid = sessions.open_browser_session(0, 0);
        assert_eq!(sessions.browser_session(&sid, 59_999), Some(0));
        assert_eq!(sessions.browser_session(&sid, 60_000), None);
    }
}
