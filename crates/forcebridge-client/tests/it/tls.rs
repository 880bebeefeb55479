//! An org served over HTTPS by a private certificate authority (the local org's `--tls`):
//! trusted once its certificate is given, and otherwise refused at once, in one attempt,
//! with an error that says the certificate is the problem.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use forcebridge_client::{
    AccessTokenCredentials, Client, ErrorKind, LoginUrl, PasswordCredentials, RetryPolicy,
    WebServerFlow,
};
use forcebridge_emulator::{Config, Emulator};
use forcebridge_emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
};

/// A local org over HTTPS, and the certificate file of its authority.
struct TlsOrg {
    emulator: Emulator,
    trust_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsOrg {
    async fn start() -> TlsOrg {
        let dir = tempfile::tempdir().unwrap();
        let trust_file = dir.path().join("ca.pem");
        let emulator = Emulator::start_tls(
            Config::builtin(),
            "127.0.0.1:0".parse().unwrap(),
            &trust_file,
        )
        .await
        .unwrap();
        TlsOrg {
            emulator,
            trust_file,
            _dir: dir,
        }
    }

    /// The org's address, for a proxy in front of it.
    fn addr(&self) -> SocketAddr {
        let port = self.emulator.url().rsplit(':').next().unwrap();
        format!("127.0.0.1:{port}").parse().unwrap()
    }
}

/// A TCP proxy to `target` that counts the connections made through it: with TLS, one
/// connection is one attempt.
async fn counting_proxy(target: SocketAddr) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("https://127.0.0.1:{}", addr.port()), accepted)
}

fn token_client(url: &str, token: String) -> forcebridge_client::ClientBuilder {
    Client::builder(AccessTokenCredentials {
        instance_url: url.to_string(),
        access_token: token.into(),
    })
    // Retries on: the point is that a refused certificate does not use them.
    .retry_policy(RetryPolicy::standard())
}

fn password(url: &str) -> PasswordCredentials {
    PasswordCredentials {
        login_url: LoginUrl::custom(url).unwrap(),
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: DEFAULT_CLIENT_SECRET.into(),
        username: DEFAULT_USERNAME.into(),
        password: DEFAULT_PASSWORD.into(),
        security_token: DEFAULT_SECURITY_TOKEN.into(),
    }
}

#[tokio::test]
async fn a_client_trusting_the_authority_file_works_over_https() {
    let org = TlsOrg::start().await;
    let client = Client::builder(password(org.emulator.url()))
        .add_root_certificate_file(&org.trust_file)
        .build()
        .unwrap();
    let session = client.session().await.unwrap();
    assert!(session.instance_url.starts_with("https://"), "{session:?}");
    client.limits().await.unwrap();
}

#[tokio::test]
async fn an_untrusted_certificate_fails_in_one_attempt_and_says_so() {
    let org = TlsOrg::start().await;
    let client = token_client(org.emulator.url(), org.emulator.access_token())
        .build()
        .unwrap();
    let error = client.limits().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(error.is_certificate_error(), "{error:?}");
    assert!(error.is_not_sent(), "nothing reached the org");
    assert_eq!(client.requests_sent(), 1, "one attempt, no retries");
    assert_eq!(
        error.to_string(),
        "GET /services/data/v60.0/limits: the server's TLS certificate is not trusted: it is \
         signed by an authority this client does not trust"
    );

    // Logins take the same rule: one connection to the login host, and the error says why.
    let (url, connections) = counting_proxy(org.addr()).await;
    let client = Client::builder(password(&url))
        .retry_policy(RetryPolicy::standard())
        .build()
        .unwrap();
    let error = client.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(error.is_certificate_error());
    assert!(error.is_not_sent());
    assert!(
        error.to_string().ends_with("the server's TLS certificate is not trusted: it is signed by an authority this client does not trust"),
        "{error}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one attempt");

    // The web flow's code exchange can trust the file too.
    let mut flow = WebServerFlow::new(LoginUrl::custom(org.emulator.url()).unwrap(), "id");
    flow.trust_root_certificate_file(&org.trust_file).unwrap();
    assert!(flow.http.is_some());
}

#[tokio::test]
async fn a_bad_certificate_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let error = token_client("https://localhost:1", "t".into())
        .add_root_certificate_file(&missing)
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert_eq!(
        error.to_string(),
        format!(
            "cannot read the root certificate file {}",
            missing.display()
        )
    );

    let not_pem = dir.path().join("key.txt");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let error = token_client("https://localhost:1", "t".into())
        .add_root_certificate_file(&not_pem)
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} holds no certificate (expected a -----BEGIN CERTIFICATE----- block)",
            not_pem.display()
        )
    );
    let mut flow = WebServerFlow::new(LoginUrl::production(), "id");
    let error = flow.trust_root_certificate_file(&not_pem).unwrap_err();
    assert!(
        error.to_string().contains("holds no certificate"),
        "{error}"
    );
}
