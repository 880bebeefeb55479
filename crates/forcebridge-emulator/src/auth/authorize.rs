//! The authorization endpoint `/services/oauth2/authorize`: the first step of the web-server
//! flow (`response_type=code`) and the whole user-agent flow (`response_type=token`).
//!
//! `GET` checks the app and its callback URL, then shows a small login and consent page
//! (username, password, Allow and Deny; no scripts, no external assets) that posts back to the
//! same path. A good login redirects to the callback with `code` (or, for the user-agent flow,
//! with the token in the URL fragment) and the `state` given; Deny redirects with
//! `error=access_denied`. An unknown app or callback never redirects: it gets an HTML error
//! page, as Salesforce shows, so codes cannot be sent to a URL the app did not register.
//!
//! A good login also sets a `sid` cookie, so the next authorization in the same browser is
//! approved without the page unless `prompt=login` (or `prompt=consent`) asks for it. With
//! `Config.auto_approve` (tests, scripted CLI logins) the page is never shown: the request is
//! approved at once as the user named by `login_hint`, or the first user.
//! Deliberately not modelled: `immediate=true` and `prompt=none`, `display` variants, and
//! remembering consent per app apart from the browser session.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::{AuthorizationCode, RefreshGrant};
use super::{
    Grant, allows_refresh, authenticate, find_app, form_urlencoded_pairs, issue_access_token,
    requested_scopes, signature,
};
use crate::config::AppConfig;
use crate::http::KeepErrorBody;
use crate::org::Org;

/// The browser-session cookie, named as Salesforce names its own.
const SESSION_COOKIE: &str = "sid";

/// What Salesforce's login page says after a wrong username or password.
const BAD_LOGIN_MESSAGE: &str = "Please check your username and password. If you still can't log in, contact your Salesforce administrator.";

/// `GET /services/oauth2/authorize`.
pub(crate) async fn start(
    State(org): State<Arc<Org>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = form_urlencoded_pairs(query.as_deref().unwrap_or("").as_bytes());
    let request = match AuthorizeRequest::parse(&org, &params) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    if org.config.auto_approve {
        let user_index = request
            .login_hint
            .as_deref()
            .and_then(|hint| org.user_index(hint))
            .unwrap_or_else(|| {
                if let Some(hint) = &request.login_hint {
                    tracing::warn!(login_hint = %hint, "login_hint names no user; auto-approving as the first user");
                }
                0
            });
        tracing::info!(client_id = %request.app.client_id, user = %org.config.users[user_index].username, "authorization auto-approved");
        return approve(&org, &headers, &request, user_index);
    }
    if !request.prompt_login
        && let Some(user_index) = browser_session(&org, &headers)
    {
        tracing::info!(client_id = %request.app.client_id, "authorization approved by the browser session");
        return approve(&org, &headers, &request, user_index);
    }
    login_page(&request, request.login_hint.as_deref().unwrap_or(""), None)
}

/// `POST /services/oauth2/authorize`: the login page's form. Everything the page carried in
/// hidden fields is checked again, as if it came from anyone.
pub(crate) async fn submit(
    State(org): State<Arc<Org>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = form_urlencoded_pairs(&body);
    let request = match AuthorizeRequest::parse(&org, &params) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    if params.get("action").map(String::as_str) == Some("deny") {
        tracing::info!(client_id = %request.app.client_id, "authorization denied by the user");
        return request
            .refusal("access_denied", "end-user denied authorization")
            .into_response();
    }
    let username = params.get("username").map(String::as_str).unwrap_or("");
    let password = params.get("password").map(String::as_str).unwrap_or("");
    let Some(user_index) = authenticate(&org, username, password) else {
        tracing::info!(client_id = %request.app.client_id, username, "login page: wrong username or password");
        return login_page(&request, username, Some(BAD_LOGIN_MESSAGE));
    };
    tracing::info!(client_id = %request.app.client_id, username, "authorization approved");
    let mut response = approve(&org, &headers, &request, user_index);
    let sid = org.sessions.open_browser_session(user_index, org.now());
    let secure = if org.tls { "; Secure" } else { "" };
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The flows this endpoint starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseType {
    /// The web-server flow: redirect with a code.
    Code,
    /// The user-agent flow: redirect with the token in the fragment.
    Token,
}

/// A checked authorization request.
struct AuthorizeRequest<'o> {
    app: &'o AppConfig,
    response_type: ResponseType,
    redirect_uri: String,
    state: Option<String>,
    /// The `scope` parameter as given (for the page's hidden field), and as resolved.
    scope_parameter: Option<String>,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
    prompt: Option<String>,
    prompt_login: bool,
}

/// Why an authorization request is refused: an error page (nowhere safe to redirect to), or a
/// redirect to the app's callback with an OAuth error.
enum Refusal {
    Page(&'static str, &'static str),
    Redirect {
        uri: String,
        fragment: bool,
        params: Vec<(String, String)>,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Page(error, description) => error_page(error, description),
            Refusal::Redirect {
                uri,
                fragment,
                params,
            } => redirect(&uri, fragment, &params),
        }
    }
}

impl<'o> AuthorizeRequest<'o> {
    fn parse(org: &'o Org, params: &HashMap<String, String>) -> Result<Self, Refusal> {
        let get = |name: &str| params.get(name).filter(|v| !v.is_empty()).cloned();
        // UNVERIFIED wording of both pages; the codes are Salesforce's.
        let app = get("client_id")
            .and_then(|id| find_app(org, &id))
            .ok_or(Refusal::Page(
                "invalid_client_id",
                "client identifier invalid",
            ))?;
        let redirect_uri = get("redirect_uri")
            .filter(|uri| app.callback_urls.iter().any(|c| c == uri))
            .ok_or(Refusal::Page(
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ))?;
        let state = params.get("state").cloned();
        let response_type = match params.get("response_type").map(String::as_str) {
            Some("code") => ResponseType::Code,
            Some("token") => ResponseType::Token,
            _ => {
                // The callback is known good from here on, so errors go back to the app.
                return Err(Refusal::Redirect {
                    uri: redirect_uri,
                    fragment: false,
                    params: error_params(
                        "unsupported_response_type",
                        "response type not supported",
                        state.as_deref(),
                    ),
                });
            }
        };
        let prompt = get("prompt");
        let prompt_login = prompt.as_deref().is_some_and(|p| {
            p.split_ascii_whitespace()
                .any(|v| v == "login" || v == "consent")
        });
        let request = AuthorizeRequest {
            app,
            response_type,
            redirect_uri,
            state,
            scopes: requested_scopes(params.get("scope").map(String::as_str)),
            scope_parameter: get("scope"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            login_hint: get("login_hint"),
            prompt,
            prompt_login,
        };
        if response_type == ResponseType::Code {
            // Salesforce hashes the verifier with SHA-256 and documents no other method;
            // jsforce sends no method at all. `plain` is refused rather than silently treated
            // as S256 (UNVERIFIED whether a real org accepts it).
            if let Some(method) = &request.code_challenge_method
                && method != "S256"
            {
                return Err(
                    request.refusal("invalid_request", "code_challenge_method must be S256")
                );
            }
            if request.app.pkce_required && request.code_challenge.is_none() {
                return Err(request.refusal("invalid_request", "missing required code challenge"));
            }
        }
        Ok(request)
    }

    /// A redirect to the callback with an OAuth error (in the fragment for the user-agent flow).
    fn refusal(&self, error: &str, description: &str) -> Refusal {
        Refusal::Redirect {
            uri: self.redirect_uri.clone(),
            fragment: self.response_type == ResponseType::Token,
            params: error_params(error, description, self.state.as_deref()),
        }
    }
}

fn error_params(error: &str, description: &str, state: Option<&str>) -> Vec<(String, String)> {
    let mut params = vec![
        ("error".to_string(), error.to_string()),
        ("error_description".to_string(), description.to_string()),
    ];
    if let Some(state) = state {
        params.push(("state".to_string(), state.to_string()));
    }
    params
}

/// Approves `request` as the user: a code (web-server flow) or a token (user-agent flow) goes
/// to the callback.
fn approve(
    org: &Org,
    headers: &HeaderMap,
    request: &AuthorizeRequest<'_>,
    user_index: usize,
) -> Response {
    let user = org.users[user_index];
    let now = org.now();
    match request.response_type {
        ResponseType::Code => {
            let code = org.sessions.issue_code(
                AuthorizationCode {
                    user,
                    user_index,
                    client_id: request.app.client_id.clone(),
                    redirect_uri: request.redirect_uri.clone(),
                    scopes: request.scopes.clone(),
                    code_challenge: request.code_challenge.clone(),
                    expires_at: super::token::code_expiry(now),
                },
                now,
            );
            let mut params = vec![("code".to_string(), code)];
            if let Some(state) = &request.state {
                params.push(("state".to_string(), state.clone()));
            }
            redirect(&request.redirect_uri, false, &params)
        }
        ResponseType::Token => {
            // The same refresh rule as the web-server flow (UNVERIFIED: Salesforce also wants an
            // https or custom-scheme callback before it puts a refresh token in a URL).
            let refresh_token = allows_refresh(&request.scopes).then(|| {
                org.sessions.issue_refresh(RefreshGrant {
                    user,
                    user_index,
                    client_id: request.app.client_id.clone(),
                    scopes: request.scopes.clone(),
                })
            });
            let issued = issue_access_token(
                org,
                headers,
                Grant {
                    user_index,
                    client_id: Some(&request.app.client_id),
                    scopes: request.scopes.clone(),
                    refresh_token: refresh_token.clone(),
                },
            );
            let signature = signature(&request.app.client_secret, &issued.id, issued.issued_at);
            let mut params = vec![("access_token".to_string(), issued.access_token)];
            if let Some(refresh_token) = refresh_token {
                params.push(("refresh_token".to_string(), refresh_token));
            }
            params.extend([
                ("instance_url".to_string(), issued.instance_url),
                ("id".to_string(), issued.id),
                ("issued_at".to_string(), issued.issued_at.to_string()),
                ("signature".to_string(), signature),
                ("scope".to_string(), request.scopes.join(" ")),
                ("token_type".to_string(), "Bearer".to_string()),
            ]);
            if let Some(state) = &request.state {
                params.push(("state".to_string(), state.clone()));
            }
            redirect(&request.redirect_uri, true, &params)
        }
    }
}

/// A 302 to `uri` with `params` added to its query (or, for `fragment`, as its fragment).
fn redirect(uri: &str, fragment: bool, params: &[(String, String)]) -> Response {
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        encoded.append_pair(name, value);
    }
    let encoded = encoded.finish();
    let separator = if fragment {
        '#'
    } else if uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{uri}{separator}{encoded}");
    match HeaderValue::from_str(&location) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        // A registered callback URL is a valid header value, and the parameters are
        // percent-encoded, so this is not reached; it still must not panic.
        Err(_) => error_page("invalid_request", "redirect_uri is not a valid URL"),
    }
}

/// The browser session named by the request's `sid` cookie.
fn browser_session(org: &Org, headers: &HeaderMap) -> Option<usize> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .find_map(|(_, sid)| org.sessions.browser_session(sid, org.now()))
}

/// The login and consent page. Every request parameter rides along in a hidden field.
fn login_page(request: &AuthorizeRequest<'_>, username: &str, message: Option<&str>) -> Response {
    let mut hidden = String::new();
    let response_type = match request.response_type {
        ResponseType::Code => "code",
        ResponseType::Token => "token",
    };
    let mut fields: Vec<(&str, &str)> = vec![
        ("response_type", response_type),
        ("client_id", &request.app.client_id),
        ("redirect_uri", &request.redirect_uri),
    ];
    let optional = [
        ("state", &request.state),
        ("scope", &request.scope_parameter),
        ("code_challenge", &request.code_challenge),
        ("code_challenge_method", &request.code_challenge_method),
        ("login_hint", &request.login_hint),
        ("prompt", &request.prompt),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            fields.push((name, value));
        }
    }
    for (name, value) in fields {
        let _ = writeln!(
            hidden,
            r#"    <input type="hidden" name="{name}" value="{}">"#,
            forcebridge_wire::text::html_escape(value)
        );
    }
    let scopes: String = request
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<li>{}</li>",
                forcebridge_wire::text::html_escape(scope_description(s))
            )
        })
        .collect();
    let message = message
        .map(|m| {
            format!(
                r#"<p class="error" role="alert">{}</p>"#,
                forcebridge_wire::text::html_escape(m)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Log in | forcebridge local org</title>
  <style>{STYLE}</style>
</head>
<body>
<main>
  <h1>forcebridge local org</h1>
  <p><strong>{app}</strong> is asking to access your data.</p>
  {message}
  <form method="post" action="/services/oauth2/authorize">
{hidden}    <label for="username">Username</label>
    <input id="username" name="username" type="text" autocomplete="username" value="{username}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password">
    <p>If you allow it, it will be able to:</p>
    <ul>{scopes}</ul>
    <div class="actions">
      <button type="submit" name="action" value="allow">Allow</button>
      <button type="submit" name="action" value="deny" class="secondary">Deny</button>
    </div>
  </form>
</main>
</body>
</html>
"#,
        app = forcebridge_wire::text::html_escape(&request.app.client_id),
        username = forcebridge_wire::text::html_escape(username),
    );
    html_response(StatusCode::OK, body)
}

/// The page for a request that cannot be sent back to the app (unknown app or callback URL).
fn error_page(error: &str, description: &str) -> Response {
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Authorization error | forcebridge local org</title>
  <style>{STYLE}</style>
</head>
<body>
<main>
  <h1>Authorization error</h1>
  <p class="error" role="alert">error={error}&amp;error_description={description}</p>
  <p>The app's request cannot be completed. Check its client id and callback URL.</p>
</main>
</body>
</html>
"#,
        error = forcebridge_wire::text::html_escape(error),
        description = forcebridge_wire::text::html_escape(description),
    );
    html_response(StatusCode::BAD_REQUEST, body)
}

/// A page that only this origin may frame, run no script in, or load anything for.
fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=UTF-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // No `form-action`: browsers apply it to the redirect after the post, which goes to the
    // app's callback on another origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response.extensions_mut().insert(KeepErrorBody);
    response
}

/// What a scope lets an app do, in the words of Salesforce's consent page.
fn scope_description(scope: &str) -> &str {
    match scope {
        "api" => "Manage user data via APIs",
        "web" => "Manage user data via Web browsers",
        "full" => "Full access",
        "id" | "profile" | "email" | "address" | "phone" => "Access the identity URL service",
        "openid" => "Access unique user identifiers",
        "refresh_token" | "offline_access" => "Perform requests at any time",
        "chatter_api" => "Access Chatter REST API resources",
        "visualforce" => "Access Visualforce applications",
        other => other,
    }
}

const STYLE: &str = "\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f3f3f3;color:#181818}\
main{max-width:22rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 4px rgba(0,0,0,.15)}\
h1{font-size:1.25rem;margin:0 0 1rem}\
label{display:block;margin:.75rem 0 .25rem;font-size:.875rem}\
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.5rem;border:1px solid #c9c9c9;border-radius:.25rem;font-size:1rem}\
ul{padding-left:1.25rem;font-size:.875rem}\
.actions{display:flex;gap:.5rem;margin-top:1rem}\
button{flex:1;padding:.6rem;border:0;border-radius:.25rem;background:#0b5cab;color:#fff;font-size:1rem;cursor:pointer}\
button.secondary{background:#e5e5e5;color:#181818}\
.error{color:#ba0517;background:#fef1ee;padding:.5rem;border-radius:.25rem}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_add_to_an_existing_query_or_use_the_fragment() {
        let params = vec![("state".to_string(), "a b&c".to_string())];
        let location = |response: Response| {
            response.headers()[header::LOCATION]
                .to_str()
                .map(str::to_string)
                .unwrap_or_default()
        };
        assert_eq!(
            location(redirect("http://x/cb", false, &params)),
            "http://x/cb?state=a+b%26c"
        );
        assert_eq!(
            location(redirect("http://x/cb?k=v", false, &params)),
            "http://x/cb?k=v&state=a+b%26c"
        );
        assert_eq!(
            location(redirect("http://x/cb", true, &params)),
            "http://x/cb#state=a+b%26c"
        );
    }
}
