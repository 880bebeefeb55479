//! SOAP `login` and `logout` of the partner (`/services/Soap/u/{version}`) and enterprise
//! (`/services/Soap/c/{version}`) APIs: simple-salesforce's default login, and jsforce's login
//! without a client secret.
//!
//! Envelopes are read by local element names, so any prefixes work (`soapenv:`, `env:`, `se:`,
//! `soap:`, `urn:`, none). The login response is the shape of the protocol reference (section 3)
//! with `sessionId`, `serverUrl`, `userId` and `organizationId` unprefixed, because
//! simple-salesforce matches qualified tag names and jsforce matches them with regexes. Faults
//! are HTTP 500 with `faultcode`/`faultstring` (jsforce reads `faultstring`) and a detail with
//! `sf:exceptionCode`/`sf:exceptionMessage` (simple-salesforce reads those, prefix included).
//! Every other SOAP API operation is outside the local org: it gets the fault a real org gives
//! for an operation that does not exist.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::identity::UserProfile;
use super::{Grant, authenticate, issue_access_token};
use crate::http::KeepErrorBody;
use crate::ids::RecordId;
use crate::org::Org;
use crate::store::CommitFailed;
use crate::versions::ApiVersion;

/// The newest API version whose `login()` call still works. Salesforce retires SOAP login from
/// API 65.0 on (the protocol reference, section 3, and jsforce's deprecation warning); older
/// versions keep it.
pub(crate) const LAST_SOAP_LOGIN_VERSION: u32 = 64;

const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const INVALID_LOGIN_MESSAGE: &str =
    "Invalid username, password, security token; or user locked out.";

pub(super) fn routes() -> Router<Arc<Org>> {
    Router::new()
        .route(
            "/services/Soap/u/{version}",
            post(partner).fallback(only_post),
        )
        .route(
            "/services/Soap/u/{version}/{org_id}",
            post(partner).fallback(only_post),
        )
        .route(
            "/services/Soap/c/{version}",
            post(enterprise).fallback(only_post),
        )
        .route(
            "/services/Soap/c/{version}/{org_id}",
            post(enterprise).fallback(only_post),
        )
}

/// Which WSDL a request speaks: the names and namespaces differ, the calls do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Partner,
    Enterprise,
}

impl Api {
    fn namespace(self) -> &'static str {
        match self {
            Api::Partner => "urn:partner.soap.sforce.com",
            Api::Enterprise => "urn:enterprise.soap.sforce.com",
        }
    }

    fn fault_namespace(self) -> &'static str {
        match self {
            Api::Partner => "urn:fault.partner.soap.sforce.com",
            Api::Enterprise => "urn:fault.enterprise.soap.sforce.com",
        }
    }

    /// The path letter: `u` for partner, `c` for enterprise.
    fn letter(self) -> &'static str {
        match self {
            Api::Partner => "u",
            Api::Enterprise => "c",
        }
    }
}

async fn partner(
    State(org): State<Arc<Org>>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&org, Api::Partner, &path, &headers, &body)
}

async fn enterprise(
    State(org): State<Arc<Org>>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&org, Api::Enterprise, &path, &headers, &body)
}

/// Anything but POST: 405 "Only POST allowed", as Salesforce answers a GET.
async fn only_post() -> Response {
    let mut response = (StatusCode::METHOD_NOT_ALLOWED, "Only POST allowed").into_response();
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    response.extensions_mut().insert(KeepErrorBody);
    response
}

fn handle(
    org: &Org,
    api: Api,
    path: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Ok(text) = std::str::from_utf8(body) else {
        return client_fault("The request is not UTF-8 XML");
    };
    let envelope = match parse_envelope(text) {
        Ok(envelope) => envelope,
        Err(problem) => return client_fault(&problem),
    };
    let version = path.get("version").and_then(|v| ApiVersion::parse(v));
    let Some((namespace, operation)) = &envelope.operation else {
        return client_fault("The SOAP Body holds no operation");
    };
    match operation.as_str() {
        "login" => login(org, api, version, headers, &envelope),
        "logout" => logout(org, api, version, &envelope),
        "undelete" => recycle_bin(org, api, version, &envelope, RecycleBin::Undelete),
        "emptyRecycleBin" => recycle_bin(org, api, version, &envelope, RecycleBin::Empty),
        _ => client_fault(&format!(
            "No operation available for request {{{namespace}}}{operation}, please check the WSDL for the service."
        )),
    }
}

fn login(
    org: &Org,
    api: Api,
    version: Option<ApiVersion>,
    headers: &HeaderMap,
    envelope: &Envelope,
) -> Response {
    let Some(version) = version else {
        return fault(
            api,
            "UNSUPPORTED_API_VERSION",
            "Invalid Api version specified on URL",
            "UnexpectedErrorFault",
        );
    };
    if version.0 > LAST_SOAP_LOGIN_VERSION {
        // UNVERIFIED: the exact fault of a retired login() call is not documented; this names
        // the cause and the way out.
        return fault(
            api,
            "UNSUPPORTED_API_VERSION",
            &format!(
                "login() is not available in API version {} and later; use OAuth 2.0 instead",
                LAST_SOAP_LOGIN_VERSION + 1
            ),
            "UnexpectedErrorFault",
        );
    }
    let username = envelope.username.as_deref().unwrap_or("");
    let password = envelope.password.as_deref().unwrap_or("");
    let user_index = authenticate(org, username, password).filter(|_| {
        // A LoginScopeHeader names the org to log in to; another org's id cannot succeed here.
        envelope
            .organization_id
            .as_deref()
            .is_none_or(|id| id.len() >= 15 && id.get(..15) == org.org_id.get(..15))
    });
    let Some(user_index) = user_index else {
        tracing::info!(username, "SOAP login refused");
        return fault(api, "INVALID_LOGIN", INVALID_LOGIN_MESSAGE, "LoginFault");
    };
    let issued = issue_access_token(
        org,
        headers,
        Grant {
            user_index,
            client_id: None,
            scopes: vec!["full".to_string()],
            refresh_token: None,
        },
    );
    tracing::info!(username, "SOAP login");
    let user_id = org.users[user_index];
    // User records cannot be deleted, so this holds for every configured user.
    let Some(user) = UserProfile::load(org, user_id) else {
        return fault(
            api,
            "UNKNOWN_EXCEPTION",
            "the user record is missing",
            "UnexpectedErrorFault",
        );
    };
    let base = &issued.instance_url;
    let org15 = &org.org_id[..15];
    let number = version.number();
    let seconds_valid = org.config.token_lifetime.as_secs();
    let text = |value: &str| escape(value).into_owned();
    // A stable profile id: the local org has no Profile records, but clients read the id.
    let profile_id = RecordId::new("00e", 1);
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="{envelope_ns}" xmlns="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            "<soapenv:Body><loginResponse><result>",
            "<metadataServerUrl>{base}/services/Soap/m/{number}/{org15}</metadataServerUrl>",
            "<passwordExpired>false</passwordExpired>",
            "<sandbox>false</sandbox>",
            "<serverUrl>{base}/services/Soap/{letter}/{number}/{org15}</serverUrl>",
            "<sessionId>{session}</sessionId>",
            "<userId>{user_id}</userId>",
            "<userInfo>",
            "<accessibilityMode>false</accessibilityMode>",
            "<currencySymbol>$</currencySymbol>",
            "<orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit>",
            "<orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode>",
            "<orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments>",
            "<orgHasPersonAccounts>false</orgHasPersonAccounts>",
            "<organizationId>{org_id}</organizationId>",
            "<organizationMultiCurrency>false</organizationMultiCurrency>",
            "<organizationName>{org_name}</organizationName>",
            "<profileId>{profile_id}</profileId>",
            r#"<roleId xsi:nil="true"/>"#,
            "<sessionSecondsValid>{seconds_valid}</sessionSecondsValid>",
            r#"<userDefaultCurrencyIsoCode xsi:nil="true"/>"#,
            "<userEmail>{email}</userEmail>",
            "<userFullName>{full_name}</userFullName>",
            "<userId>{user_id}</userId>",
            "<userLanguage>{language}</userLanguage>",
            "<userLocale>{locale}</userLocale>",
            "<userName>{username}</userName>",
            "<userTimeZone>{time_zone}</userTimeZone>",
            "<userType>{user_type}</userType>",
            "<userUiSkin>Theme3</userUiSkin>",
            "</userInfo>",
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>",
        ),
        envelope_ns = SOAP_ENVELOPE_NS,
        ns = api.namespace(),
        base = text(base),
        letter = api.letter(),
        session = text(&issued.access_token),
        org_id = org.org_id,
        org_name = text(&org.config.org_name),
        email = text(&user.email),
        full_name = text(&user.full_name()),
        language = text(&user.language),
        locale = text(&user.locale),
        username = text(&user.username),
        time_zone = text(&user.time_zone),
        user_type = text(&user.user_type),
        number = number,
        org15 = org15,
        user_id = user_id,
        profile_id = profile_id,
        seconds_valid = seconds_valid,
    );
    xml_response(StatusCode::OK, body)
}

/// `logout`: revokes the session named in the `SessionHeader`.
fn logout(org: &Org, api: Api, version: Option<ApiVersion>, envelope: &Envelope) -> Response {
    if version.is_none() {
        return fault(
            api,
            "UNSUPPORTED_API_VERSION",
            "Invalid Api version specified on URL",
            "UnexpectedErrorFault",
        );
    }
    let session_id = envelope.session_id.as_deref().unwrap_or("");
    // Only a live session can log out; the check also keeps refresh tokens out of this door.
    if session_id.is_empty() || org.sessions.check(session_id, org.now()).is_err() {
        return fault(
            api,
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
            "UnexpectedErrorFault",
        );
    }
    org.sessions.revoke(session_id);
    tracing::info!("SOAP logout");
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="{envelope_ns}" xmlns="{ns}">"#,
            "<soapenv:Body><logoutResponse/></soapenv:Body></soapenv:Envelope>",
        ),
        envelope_ns = SOAP_ENVELOPE_NS,
        ns = api.namespace(),
    );
    xml_response(StatusCode::OK, body)
}

/// The two recycle-bin calls of the SOAP API (REST has neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecycleBin {
    /// `undelete`: restore records from the recycle bin.
    Undelete,
    /// `emptyRecycleBin`: erase records in the recycle bin for good.
    Empty,
}

/// `undelete` and `emptyRecycleBin`: each id succeeds or fails on its own (no AllOrNoneHeader),
/// answered with one `result` per id, in order, as `UndeleteResult` / `EmptyRecycleBinResult`.
fn recycle_bin(
    org: &Org,
    api: Api,
    version: Option<ApiVersion>,
    envelope: &Envelope,
    call: RecycleBin,
) -> Response {
    if version.is_none() {
        return fault(
            api,
            "UNSUPPORTED_API_VERSION",
            "Invalid Api version specified on URL",
            "UnexpectedErrorFault",
        );
    }
    let session = envelope
        .session_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| org.sessions.check(s, org.now()).ok());
    let Some(session) = session else {
        return fault(
            api,
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
            "UnexpectedErrorFault",
        );
    };
    if envelope.ids.is_empty() || envelope.ids.len() > 200 {
        return fault(
            api,
            "INVALID_BATCH_SIZE",
            "Invalid batch size: give between 1 and 200 ids",
            "InvalidSObjectFault",
        );
    }
    let outcomes: Result<Vec<Result<String, crate::api_error::DmlError>>, CommitFailed> =
        org.store.write(session.user, |txn| {
            let outcomes = envelope
                .ids
                .iter()
                .map(|text| {
                    let savepoint = txn.savepoint();
                    let result = crate::dml::parse_id(text).and_then(|id| {
                        match call {
                            RecycleBin::Undelete => crate::dml::undelete(txn, id),
                            RecycleBin::Empty => crate::dml::empty_recycle_bin(txn, id),
                        }
                        .map(|()| id.to_string())
                    });
                    if result.is_err() {
                        txn.rollback_to(savepoint);
                    }
                    result
                })
                .collect::<Vec<_>>();
            Ok(outcomes)
        });
    let outcomes = match outcomes {
        Ok(outcomes) => outcomes,
        Err(failed) => {
            let error = crate::api_error::DmlError::from(failed);
            return fault(api, error.code, &error.message, "UnexpectedErrorFault");
        }
    };
    let mut results = String::new();
    for (text, outcome) in envelope.ids.iter().zip(outcomes) {
        match outcome {
            Ok(id) => results.push_str(&format!("<result><id>{id}</id><success>true</success></result>")),
            Err(error) => results.push_str(&format!(
                "<result><errors><message>{}</message><statusCode>{}</statusCode></errors><id>{}</id><success>false</success></result>",
                escape(&error.message),
                error.code,
                escape(text),
            )),
        }
    }
    let operation = match call {
        RecycleBin::Undelete => "undeleteResponse",
        RecycleBin::Empty => "emptyRecycleBinResponse",
    };
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="{envelope_ns}" xmlns="{ns}">"#,
            "<soapenv:Body><{operation}>{results}</{operation}></soapenv:Body></soapenv:Envelope>",
        ),
        envelope_ns = SOAP_ENVELOPE_NS,
        ns = api.namespace(),
        operation = operation,
        results = results,
    );
    xml_response(StatusCode::OK, body)
}

/// A Salesforce fault: `faultcode` `sf:CODE`, `faultstring` `CODE: message`, and a detail of
/// `fault_type` with the code and message under the literal `sf` prefix.
fn fault(api: Api, code: &str, message: &str, fault_type: &str) -> Response {
    let message = escape(message);
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="{envelope_ns}" xmlns:sf="{fault_ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            "<soapenv:Body><soapenv:Fault>",
            "<faultcode>sf:{code}</faultcode>",
            "<faultstring>{code}: {message}</faultstring>",
            "<detail>",
            r#"<sf:{fault_type} xsi:type="sf:{fault_type}">"#,
            "<sf:exceptionCode>{code}</sf:exceptionCode>",
            "<sf:exceptionMessage>{message}</sf:exceptionMessage>",
            "</sf:{fault_type}>",
            "</detail>",
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>",
        ),
        envelope_ns = SOAP_ENVELOPE_NS,
        fault_ns = api.fault_namespace(),
        code = code,
        message = message,
        fault_type = fault_type,
    );
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
}

/// A fault for a request that is not a SOAP call the org understands: `soapenv:Client`, as the
/// SOAP 1.1 stack in front of the API answers, with no Salesforce detail.
fn client_fault(message: &str) -> Response {
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="{envelope_ns}">"#,
            "<soapenv:Body><soapenv:Fault>",
            "<faultcode>soapenv:Client</faultcode>",
            "<faultstring>{message}</faultstring>",
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>",
        ),
        envelope_ns = SOAP_ENVELOPE_NS,
        message = escape(message),
    );
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    response.extensions_mut().insert(KeepErrorBody);
    response
}

/// What a SOAP request says, by local element names.
#[derive(Debug, Default)]
struct Envelope {
    /// The first element in the Body: its namespace and local name.
    operation: Option<(String, String)>,
    username: Option<String>,
    password: Option<String>,
    /// `Header/SessionHeader/sessionId`.
    session_id: Option<String>,
    /// `Header/LoginScopeHeader/organizationId`.
    organization_id: Option<String>,
    /// `Body/<operation>/ids`, repeated (undelete, emptyRecycleBin).
    ids: Vec<String>,
}

/// Reads a SOAP envelope. Entities other than XML's five and character references are refused
/// (there is no DTD processing, so nothing is fetched or expanded).
fn parse_envelope(xml: &str) -> Result<Envelope, String> {
    let mut reader = NsReader::from_str(xml);
    let mut envelope = Envelope::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut saw_root = false;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("The request is not well-formed XML: {e}"))?;
        let namespace = match resolved {
            ResolveResult::Bound(ns) => ns.0.to_string(),
            _ => String::new(),
        };
        match event {
            Event::Start(element) => {
                let name = element.local_name().into_inner().to_string();
                open(&mut envelope, &path, &name, namespace)?;
                saw_root = true;
                path.push(name);
                text.clear();
            }
            Event::Empty(element) => {
                let name = element.local_name().into_inner().to_string();
                open(&mut envelope, &path, &name, namespace)?;
                saw_root = true;
                path.push(name);
                close(&mut envelope, &path, "");
                path.pop();
            }
            Event::End(_) => {
                close(&mut envelope, &path, &text);
                path.pop();
                text.clear();
            }
            Event::Text(content) => text.push_str(&content.xml10_content()),
            Event::CData(content) => text.push_str(&content.xml10_content()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.xml10_content();
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("Undeclared entity &{name};"))?
                            .to_string()
                    }
                    Err(e) => return Err(format!("Bad character reference: {e}")),
                };
                text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err("The request is not a SOAP envelope".to_string());
    }
    if !path.is_empty() {
        return Err("The request ends before its Envelope closes".to_string());
    }
    Ok(envelope)
}

/// Checks and records an element as it opens (`path` is its parents).
fn open(
    envelope: &mut Envelope,
    path: &[String],
    name: &str,
    namespace: String,
) -> Result<(), String> {
    if path.is_empty() && name != "Envelope" {
        return Err(format!("Expected a SOAP Envelope, found <{name}>"));
    }
    if path.len() == 2 && path[1] == "Body" && envelope.operation.is_none() {
        envelope.operation = Some((namespace, name.to_string()));
    }
    Ok(())
}

/// Records the text of an element as it closes (`path` ends with the element).
fn close(envelope: &mut Envelope, path: &[String], text: &str) {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    if let [_, "Body", _, "ids"] = names.as_slice() {
        envelope.ids.push(text.trim().to_string());
        return;
    }
    let slot = match names.as_slice() {
        [_, "Body", _, "username"] => &mut envelope.username,
        [_, "Body", _, "password"] => &mut envelope.password,
        [_, "Header", "SessionHeader", "sessionId"] => &mut envelope.session_id,
        [_, "Header", "LoginScopeHeader", "organizationId"] => &mut envelope.organization_id,
        _ => return,
    };
    *slot = Some(text.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_read_by_local_names_whatever_the_prefixes() {
        let variants = [
            // simple-salesforce
            r#"<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><env:Header><urn:CallOptions><urn:client>simple-salesforce</urn:client></urn:CallOptions></env:Header><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>a@b.c</n1:username><n1:password>p&amp;w&#33;</n1:password></n1:login></env:Body></env:Envelope>"#,
            // jsforce
            r#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>a@b.c</username><password>p&amp;w!</password></login></se:Body></se:Envelope>"#,
            // soapenv with urn-prefixed operation and a CDATA password
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:urn=\"urn:partner.soap.sforce.com\">\n <soapenv:Body>\n  <urn:login>\n   <urn:username>a@b.c</urn:username>\n   <urn:password><![CDATA[p&w!]]></urn:password>\n  </urn:login>\n </soapenv:Body>\n</soapenv:Envelope>",
        ];
        for xml in variants {
            let envelope = parse_envelope(xml).unwrap();
            assert_eq!(
                envelope.operation,
                Some((
                    "urn:partner.soap.sforce.com".to_string(),
                    "login".to_string()
                )),
                "{xml}"
            );
            assert_eq!(envelope.username.as_deref(), Some("a@b.c"), "{xml}");
            assert_eq!(envelope.password.as_deref(), Some("p&w!"), "{xml}");
        }
    }

    #[test]
    fn headers_and_empty_operations_are_read() {
        let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>00D!abc</sessionId></SessionHeader><LoginScopeHeader><organizationId>00DRO0000000001</organizationId></LoginScopeHeader></soap:Header><soap:Body><logout xmlns="urn:partner.soap.sforce.com"/></soap:Body></soap:Envelope>"#;
        let envelope = parse_envelope(xml).unwrap();
        assert_eq!(
            envelope.operation.map(|(_, op)| op).as_deref(),
            Some("logout")
        );
        assert_eq!(envelope.session_id.as_deref(), Some("00D!abc"));
        assert_eq!(envelope.organization_id.as_deref(), Some("00DRO0000000001"));
    }

    #[test]
    fn bad_documents_are_errors_not_panics() {
        for xml in [
            "",
            "not xml",
            "<login/>",
            "<Envelope><Body><login><username>&custom;</username></login></Body></Envelope>",
            "<Envelope><Body><login><username>&#0;</username></login></Body></Envelope>",
            "<Envelope><Body></Wrong></Body></Envelope>",
        ] {
            assert!(parse_envelope(xml).is_err(), "{xml:?} should be refused");
        }
    }
}
