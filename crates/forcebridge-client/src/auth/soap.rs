//! The SOAP `login()` call of the partner API (`POST {login}/services/Soap/u/{version}`): a
//! username, password and security token, and no connected app.
//!
//! Salesforce serves `login()` only up to API 64.0 and is retiring it; prefer an OAuth flow
//! where a connected app exists. This module reads the login response and its faults only; it
//! does not speak any other SOAP operation.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use secrecy::{ExposeSecret, SecretString};

use super::{AuthContext, LoginAnswer, LoginUrl, Session, TokenSource, login_post};
use crate::error::{ApiErrorDetail, Error, ErrorKind, Result};

/// The SOAP `login()` call, for orgs (or users) without a connected app. The API version is the
/// client's ([`crate::ClientBuilder::api_version`]); Salesforce refuses `login()` from 65.0 on.
///
/// A refused login (`INVALID_LOGIN`, `LOGIN_MUST_USE_SECURITY_TOKEN`, ...) is an
/// [`ErrorKind::Auth`] error whose [`Error::error_code`] is the fault code.
#[derive(Debug, Clone)]
pub struct SoapLoginCredentials {
    /// Where the `login()` call is posted (`{login_url}/services/Soap/u/{version}`); also the
    /// host of the session's identity URL.
    pub login_url: LoginUrl,
    /// The Salesforce username to log in as.
    pub username: String,
    /// The user's password, without the security token.
    pub password: SecretString,
    /// Appended to the password; leave empty when the network is trusted.
    pub security_token: SecretString,
}

impl TokenSource for SoapLoginCredentials {
    fn login<'a>(
        &'a self,
        context: &'a AuthContext,
        _previous: Option<&'a Session>,
    ) -> BoxFuture<'a, Result<Session>> {
        async move {
            let url = self
                .login_url
                .join(&format!("/services/Soap/u/{}", context.api_version()));
            let password = super::password_with_token(&self.password, &self.security_token);
            let envelope = login_envelope(&self.username, &password);
            let body = soap_request(context, &url, envelope).await?;
            let result = parse_login_result(&body)?;
            Ok(result.into_session(&self.login_url))
        }
        .boxed()
    }
}

/// The partner `login` envelope, with the values XML-escaped.
fn login_envelope(username: &str, password: &SecretString) -> SecretString {
    SecretString::from(format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <env:Body>
    <urn:login>
      <urn:username>{}</urn:username>
      <urn:password>{}</urn:password>
    </urn:login>
  </env:Body>
</env:Envelope>
"#,
        escape(username),
        escape(password.expose_secret())
    ))
}

/// Posts the envelope; retries failed connections and 5xx answers that are not SOAP faults
/// under the client's policy. A fault is returned at once as an [`ErrorKind::Auth`] error.
async fn soap_request(context: &AuthContext, url: &str, envelope: SecretString) -> Result<Vec<u8>> {
    login_post(
        context,
        "SOAP login",
        url,
        |request| {
            request
                .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=UTF-8")
                .header("SOAPAction", "login")
                .body(envelope.expose_secret().to_string())
        },
        |status, body| {
            if status.is_success() {
                return LoginAnswer::Done(Ok(body.to_vec()));
            }
            if let Some(fault) = parse_fault(body) {
                return LoginAnswer::Done(Err(fault.into_error(status.as_u16())));
            }
            let kind = if status.is_server_error() {
                ErrorKind::Transport
            } else {
                ErrorKind::Auth
            };
            let error = Error::new(
                kind,
                format!(
                    "SOAP login to {url} failed: HTTP {status}: {}",
                    String::from_utf8_lossy(body)
                        .chars()
                        .take(300)
                        .collect::<String>()
                ),
            )
            .with_status(status.as_u16());
            if status.is_server_error() {
                LoginAnswer::Retry(error)
            } else {
                LoginAnswer::Done(Err(error))
            }
        },
    )
    .await
}

/// What the login response says.
#[derive(Default)]
struct LoginResult {
    session_id: Option<String>,
    server_url: Option<String>,
    user_id: Option<String>,
    organization_id: Option<String>,
    password_expired: bool,
    /// How long the session stays valid, in seconds (`sessionSecondsValid`).
    seconds_valid: Option<i64>,
}

impl LoginResult {
    fn into_session(self, login_url: &LoginUrl) -> Session {
        let LoginResult {
            session_id,
            server_url,
            user_id,
            organization_id,
            seconds_valid,
            ..
        } = self;
        let server_url = server_url.unwrap_or_default();
        let mut session = Session::new(session_id.unwrap_or_default(), &instance_url(&server_url));
        // The identity URL as jsforce builds it: the login host, the org id, the user id.
        session.identity_url = Some(login_url.join(&format!(
            "/id/{}/{}",
            organization_id.unwrap_or_default(),
            user_id.unwrap_or_default()
        )));
        let now = super::now_millis();
        session.issued_at = Some(now);
        session.expires_at =
            seconds_valid.map(|seconds| now.saturating_add(seconds.saturating_mul(1000)));
        session
    }
}

/// The scheme, host and port of a `serverUrl` (`https://host/services/Soap/u/60.0/00D...`).
fn instance_url(server_url: &str) -> String {
    match reqwest::Url::parse(server_url) {
        Ok(url) => {
            let origin = url.origin().ascii_serialization();
            if origin == "null" {
                server_url.to_string()
            } else {
                origin
            }
        }
        Err(_) => server_url.to_string(),
    }
}

/// A SOAP fault: its code (prefix dropped) and message.
struct Fault {
    code: String,
    message: String,
}

impl Fault {
    fn into_error(self, status: u16) -> Error {
        Error::new(
            ErrorKind::Auth,
            format!("SOAP login refused: {}: {}", self.code, self.message),
        )
        .with_status(status)
        .with_api_errors(vec![ApiErrorDetail {
            error_code: self.code,
            message: self.message,
            fields: Vec::new(),
        }])
    }
}

/// The text of each element of interest, by local name: the first occurrence wins.
fn read_elements(xml: &[u8], names: &[&str]) -> Result<Vec<Option<String>>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut values = vec![None; names.len()];
    let mut current: Option<usize> = None;
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(element) => {
                let local = element.local_name();
                let name: &str = local.as_ref();
                current = names
                    .iter()
                    .position(|n| *n == name)
                    .filter(|&i| values[i].is_none());
                text.clear();
            }
            Event::Text(content) if current.is_some() => {
                text.push_str(&content.xml10_content());
            }
            Event::CData(content) if current.is_some() => {
                text.push_str(&content.xml10_content());
            }
            Event::GeneralRef(reference) if current.is_some() => {
                match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => text.push(c),
                    None => {
                        let name = reference.xml10_content();
                        let resolved = resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("undeclared entity &{name};"))?;
                        text.push_str(resolved);
                    }
                }
            }
            Event::End(_) => {
                if let Some(i) = current.take() {
                    values[i] = Some(std::mem::take(&mut text).trim().to_string());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(values)
}

/// The `Fault` of a SOAP answer, if it is one. `sf:exceptionCode` and `sf:exceptionMessage`
/// are preferred; `faultcode` (`sf:INVALID_LOGIN`) and `faultstring` are the fallback.
fn parse_fault(body: &[u8]) -> Option<Fault> {
    let values = read_elements(
        body,
        &[
            "Fault",
            "faultcode",
            "faultstring",
            "exceptionCode",
            "exceptionMessage",
        ],
    )
    .ok()?;
    let [_, faultcode, faultstring, exception_code, exception_message] =
        <[Option<String>; 5]>::try_from(values).ok()?;
    let code = exception_code.or_else(|| {
        faultcode.map(|c| c.rsplit_once(':').map_or(c.clone(), |(_, c)| c.to_string()))
    })?;
    let message = exception_message
        .or(faultstring)
        .map(|m| {
            m.strip_prefix(&format!("{code}: "))
                .map(str::to_string)
                .unwrap_or(m)
        })
        .unwrap_or_default();
    Some(Fault { code, message })
}

fn parse_login_result(body: &[u8]) -> Result<LoginResult> {
    let values = read_elements(
        body,
        &[
            "sessionId",
            "serverUrl",
            "userId",
            "organizationId",
            "passwordExpired",
            "sessionSecondsValid",
        ],
    )
    .map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("unreadable SOAP login response: {e}"),
        )
    })?;
    let [
        session_id,
        server_url,
        user_id,
        organization_id,
        password_expired,
        seconds_valid,
    ] = <[Option<String>; 6]>::try_from(values)
        .map_err(|_| Error::new(ErrorKind::Decode, "unreadable SOAP login response"))?;
    let result = LoginResult {
        session_id,
        server_url,
        user_id,
        organization_id,
        password_expired: password_expired.as_deref() == Some("true"),
        seconds_valid: seconds_valid.and_then(|s| s.parse().ok()),
    };
    let missing: Vec<&str> = [
        ("sessionId", result.session_id.is_none()),
        ("serverUrl", result.server_url.is_none()),
        ("userId", result.user_id.is_none()),
        ("organizationId", result.organization_id.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, missing)| missing.then_some(name))
    .collect();
    if !missing.is_empty() {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("the SOAP login response has no {}", missing.join(", no ")),
        ));
    }
    if result.password_expired {
        return Err(Error::new(
            ErrorKind::Auth,
            "SOAP login refused: the password has expired: set a new one in Salesforce",
        ));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_escapes_what_it_carries() {
        let envelope = login_envelope("a<b>&\"c\"", &SecretString::from("p&ss<word>"));
        let text = envelope.expose_secret();
        assert!(text.contains("<urn:username>a&lt;b&gt;&amp;&quot;c&quot;</urn:username>"));
        assert!(text.contains("<urn:password>p&amp;ss&lt;word&gt;</urn:password>"));
    }

    #[test]
    fn faults_give_the_code_without_prefix_and_the_message() {
        let fault = br#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username &amp; password</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let fault = parse_fault(fault).unwrap();
        assert_eq!(fault.code, "INVALID_LOGIN");
        assert_eq!(fault.message, "Invalid username & password");
        assert!(parse_fault(b"<html>bad gateway</html>").is_none());
    }

    #[test]
    fn the_session_expires_when_the_login_says() {
        let body = br#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><loginResponse><result><passwordExpired>false</passwordExpired><serverUrl>https://acme.my.salesforce.com/services/Soap/u/60.0/00D</serverUrl><sessionId>00D!x</sessionId><userId>005000000000001AAA</userId><userInfo><organizationId>00D000000000001AAA</organizationId><sessionSecondsValid>7200</sessionSecondsValid></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"#;
        let session = parse_login_result(body)
            .unwrap()
            .into_session(&LoginUrl::production());
        let issued = session.issued_at.unwrap();
        assert_eq!(session.expires_at, Some(issued + 7_200_000));
        assert!(!session.is_expired());
    }

    #[test]
    fn the_instance_is_the_origin_of_the_server_url() {
        assert_eq!(
            instance_url("https://acme.my.salesforce.com/services/Soap/u/60.0/00D000000000001"),
            "https://acme.my.salesforce.com"
        );
        assert_eq!(
            instance_url("http://127.0.0.1:8080/services/Soap/u/60.0/00D"),
            "http://127.0.0.1:8080"
        );
    }
}
