//! What to check when a login fails: the org's answer (`invalid_grant`, `invalid_client_id`,
//! ...) mapped, per login flow, to the setting that is most likely wrong.
//!
//! The hints name settings and environment variables, never a command-line flag, so any front
//! end (the CLI, a server) can show them as they are. They never contain a secret.

use forcebridge_client::ErrorKind as ClientKind;

use crate::profile::Flow;

/// What to check after a login with `flow` failed with `error`, when the org's answer (or the
/// lack of one) says something more than its own message does.
///
/// ```
/// # use forcebridge_connect::{Flow, login_hint};
/// # fn show(error: &forcebridge_client::Error) {
/// if let Some(hint) = login_hint(Flow::Password, error) {
///     eprintln!("hint: {hint}");
/// }
/// # }
/// ```
pub fn login_hint(flow: Flow, error: &forcebridge_client::Error) -> Option<&'static str> {
    if error.is_certificate_error() {
        return Some(UNTRUSTED_CERTIFICATE);
    }
    hint(flow, error.kind(), error.error_code())
}

/// What to do when the org's TLS certificate was refused.
const UNTRUSTED_CERTIFICATE: &str = "the org's TLS certificate is not trusted on this machine: if its authority is a private one (a local org's), set the connection's CA file (ca_file) to that authority's certificate (PEM), such as the ca.pem a local org prints";

/// What the org says to a bad access token.
const INVALID_ACCESS_TOKEN: &str = "the access token is not valid for this instance URL (it may have expired or been revoked): get a new one";

fn hint(flow: Flow, kind: ClientKind, code: Option<&str>) -> Option<&'static str> {
    // A bare access token cannot be renewed, so the client reports the org's refusal as an
    // auth error of its own, without the org's code.
    if flow == Flow::Token && kind == ClientKind::Auth && code.is_none() {
        return Some(INVALID_ACCESS_TOKEN);
    }
    if kind == ClientKind::Transport {
        return Some(match flow {
            Flow::Token => "check the instance URL, and that the org can be reached from here",
            _ => "check the login URL, and that the org can be reached from here",
        });
    }
    Some(match (code?, flow) {
        ("invalid_client_id", _) => {
            "check the consumer key (client id) and the login URL: the org knows no connected app with this key"
        }
        ("invalid_client", _) => "check the consumer secret (stored, or FORCEBRIDGE_CLIENT_SECRET)",
        ("invalid_grant", Flow::Password) => {
            "check the username, the password and the security token (a new token is emailed when the password changes), and that the app allows this user"
        }
        ("invalid_grant", Flow::Jwt) => {
            "check that the certificate uploaded to the app matches the private key, that the user is pre-authorized for the app, and the login URL (test.salesforce.com for sandboxes)"
        }
        ("invalid_grant", Flow::ClientCredentials) => {
            "check that the app has the client credentials flow enabled with a run-as user, and that the login URL is your My Domain"
        }
        ("invalid_grant", Flow::Web) => {
            "the refresh token was refused (revoked, expired, or issued to another app): log in with the web flow again"
        }
        ("redirect_uri_mismatch", _) => {
            "the callback URL must be listed in the connected app exactly, port and path included"
        }
        ("unsupported_grant_type", _) => "the org does not allow this login flow for the app",
        ("INVALID_SESSION_ID", _) => INVALID_ACCESS_TOKEN,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hint for `code` after a refused login with `flow`.
    #[track_caller]
    fn check(flow: Flow, code: &str, expect: Option<&str>) {
        let hint = hint(flow, ClientKind::Auth, Some(code));
        match (hint, expect) {
            (Some(hint), Some(words)) => assert!(hint.contains(words), "{flow} {code}: {hint}"),
            (None, None) => {}
            _ => panic!("{flow} {code}: {hint:?}, expected one containing {expect:?}"),
        }
    }

    #[test]
    fn a_wrong_consumer_key_points_at_the_key_whatever_the_flow() {
        for flow in Flow::ALL {
            check(flow, "invalid_client_id", Some("consumer key"));
        }
    }

    #[test]
    fn a_wrong_consumer_secret_points_at_the_secret_and_its_variable() {
        check(
            Flow::Password,
            "invalid_client",
            Some("FORCEBRIDGE_CLIENT_SECRET"),
        );
        check(
            Flow::ClientCredentials,
            "invalid_client",
            Some("consumer secret"),
        );
    }

    #[test]
    fn invalid_grant_means_something_else_in_each_flow() {
        check(Flow::Password, "invalid_grant", Some("security token"));
        check(Flow::Jwt, "invalid_grant", Some("certificate"));
        check(
            Flow::ClientCredentials,
            "invalid_grant",
            Some("run-as user"),
        );
        check(Flow::Web, "invalid_grant", Some("refresh token"));
        // The token flow never makes a token request.
        check(Flow::Token, "invalid_grant", None);
    }

    #[test]
    fn other_refusals_have_their_own_hints() {
        check(Flow::Web, "redirect_uri_mismatch", Some("callback URL"));
        check(
            Flow::Password,
            "unsupported_grant_type",
            Some("does not allow this login flow"),
        );
        check(Flow::Token, "INVALID_SESSION_ID", Some("access token"));
    }

    #[test]
    fn a_bare_access_token_that_is_refused_needs_a_new_one() {
        let hint = hint(Flow::Token, ClientKind::Auth, None).unwrap();
        assert!(hint.contains("get a new one"), "{hint}");
        // Other flows renew their sessions: an auth error without a code says nothing more.
        assert_eq!(super::hint(Flow::Password, ClientKind::Auth, None), None);
    }

    #[test]
    fn an_answer_that_says_nothing_more_gets_no_hint() {
        check(Flow::Password, "INVALID_FIELD", None);
        assert_eq!(hint(Flow::Password, ClientKind::Api, None), None);
    }

    #[test]
    fn an_unreachable_org_points_at_the_url_the_flow_uses() {
        let login = hint(Flow::Password, ClientKind::Transport, None).unwrap();
        assert!(login.contains("login URL"), "{login}");
        let token = hint(Flow::Token, ClientKind::Transport, None).unwrap();
        assert!(token.contains("instance URL"), "{token}");
    }
}
