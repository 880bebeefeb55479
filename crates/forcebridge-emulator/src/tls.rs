//! The certificate the local org serves HTTPS with: a small certificate authority of its own,
//! and a server certificate it signs for `localhost`, `127.0.0.1` and `::1`.
//!
//! The authority's certificate is written to a file clients are told to trust
//! (`REQUESTS_CA_BUNDLE` for Python requests, `NODE_EXTRA_CA_CERTS` for Node, a root certificate
//! for reqwest). Its key is kept next to it (`<file>.key`, readable by the owner only) and
//! reused on the next start, so a client set up once keeps trusting the org across restarts.
//! The server certificate is made afresh on every start and never written to disk.
//!
//! Why an authority and not one self-signed server certificate: strict verifiers (Python 3.13's
//! `VERIFY_X509_STRICT`, webpki) refuse a certificate that is both the trust anchor and the end
//! entity, or that lacks the extensions a proper chain has.
//!
//! It deliberately does no TLS itself: `serve.rs` (rustls, through tokio-rustls) serves with what
//! this returns.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// The names every server certificate covers.
pub(crate) const LOCAL_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// A server certificate and its key, with the authority file clients trust.
#[derive(Debug)]
pub(crate) struct ServerCertificate {
    /// The PEM file with the authority's certificate (what clients trust).
    pub trust_file: PathBuf,
    /// The server certificate followed by the authority's, PEM.
    pub chain_pem: String,
    /// The server certificate's private key, PEM.
    pub key_pem: String,
}

/// Why a certificate could not be made or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// Reading or writing `path` failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The certificate could not be generated (or a kept key could not be read).
    Certificate(String),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Io { path, .. } => write!(f, "cannot write {}", path.display()),
            TlsError::Certificate(message) => {
                write!(f, "cannot make the TLS certificate: {message}")
            }
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Io { source, .. } => Some(source),
            TlsError::Certificate(_) => None,
        }
    }
}

impl TlsError {
    /// The underlying IO error, if any (for the crate's public error).
    pub(crate) fn into_source(self) -> Option<std::io::Error> {
        match self {
            TlsError::Io { source, .. } => Some(source),
            TlsError::Certificate(_) => None,
        }
    }
}

fn certificate_error(e: rcgen::Error) -> TlsError {
    TlsError::Certificate(e.to_string())
}

/// The file the authority's key is kept in: `ca.pem` → `ca.key`, `ca` → `ca.key`.
pub(crate) fn key_file_for(trust_file: &Path) -> PathBuf {
    let key = trust_file.with_extension("key");
    if key == trust_file {
        let mut name = trust_file.as_os_str().to_owned();
        name.push(".key");
        PathBuf::from(name)
    } else {
        key
    }
}

/// Makes a server certificate for the local names plus `extra_names` (host names or IP
/// addresses), signed by the authority whose certificate is written to `trust_file` (and whose
/// key is reused from [`key_file_for`] when it exists).
pub(crate) fn prepare(
    trust_file: &Path,
    extra_names: &[String],
) -> Result<ServerCertificate, TlsError> {
    if let Some(parent) = trust_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| TlsError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let key_file = key_file_for(trust_file);
    let authority_key = match std::fs::read_to_string(&key_file) {
        Ok(pem) => KeyPair::from_pem(&pem).map_err(|e| {
            TlsError::Certificate(format!(
                "the kept key {} does not read ({e}); delete it to make a new authority",
                key_file.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyPair::generate().map_err(certificate_error)?;
            write_private(&key_file, key.serialize_pem().as_bytes())?;
            key
        }
        Err(source) => {
            return Err(TlsError::Io {
                path: key_file,
                source,
            });
        }
    };
    let mut authority = CertificateParams::new(Vec::<String>::new()).map_err(certificate_error)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "forcebridge local org CA");
    name.push(DnType::OrganizationName, "forcebridge");
    authority.distinguished_name = name;
    authority.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    authority.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let authority_certificate = authority
        .self_signed(&authority_key)
        .map_err(certificate_error)?;
    let issuer = Issuer::new(authority, &authority_key);

    let mut names: Vec<String> = LOCAL_NAMES.iter().map(|n| n.to_string()).collect();
    for extra in extra_names {
        if !names.contains(extra) {
            names.push(extra.clone());
        }
    }
    let mut server = CertificateParams::new(names).map_err(certificate_error)?;
    let mut server_name = DistinguishedName::new();
    server_name.push(DnType::CommonName, "localhost");
    server.distinguished_name = server_name;
    server.is_ca = IsCa::ExplicitNoCa;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    let server_key = KeyPair::generate().map_err(certificate_error)?;
    let server_certificate = server
        .signed_by(&server_key, &issuer)
        .map_err(certificate_error)?;

    let authority_pem = authority_certificate.pem();
    std::fs::write(trust_file, &authority_pem).map_err(|source| TlsError::Io {
        path: trust_file.to_path_buf(),
        source,
    })?;
    Ok(ServerCertificate {
        trust_file: trust_file.to_path_buf(),
        chain_pem: format!("{}{authority_pem}", server_certificate.pem()),
        key_pem: server_key.serialize_pem(),
    })
}

/// Writes a private key readable only by its owner.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let io = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_sit_next_to_the_trust_file() {
        assert_eq!(key_file_for(Path::new("/d/ca.pem")), Path::new("/d/ca.key"));
        assert_eq!(key_file_for(Path::new("/d/ca")), Path::new("/d/ca.key"));
        assert_eq!(
            key_file_for(Path::new("/d/ca.key")),
            Path::new("/d/ca.key.key")
        );
    }
}
