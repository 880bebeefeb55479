//! Where secrets live: a file only its owner can read, overridden by environment variables.
//!
//! The file holds one table per connection, and one per kept session (see the `session`
//! module). It is created with mode 0600 inside a directory with mode 0700, replaced
//! atomically on every change (a crash leaves the old file or the new one, never half of one),
//! and refused when its mode lets anyone else read it. Every change reads, edits and replaces
//! the file while holding an exclusive lock on `secrets.toml.lock` beside it, so two processes
//! that change it at once (one storing a rotated refresh token, the other a new session) never
//! lose each other's change.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use forcebridge_client::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::session::SessionRecord;

/// The secrets a connection may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    ClientSecret,
    Password,
    SecurityToken,
    RefreshToken,
    /// A PEM private key (its content, not a path).
    PrivateKey,
    AccessToken,
}

impl SecretKind {
    pub const ALL: [SecretKind; 6] = [
        SecretKind::ClientSecret,
        SecretKind::Password,
        SecretKind::SecurityToken,
        SecretKind::RefreshToken,
        SecretKind::PrivateKey,
        SecretKind::AccessToken,
    ];

    /// The environment variable that overrides this secret for every connection, for CI.
    pub fn env_var(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "FORCEBRIDGE_CLIENT_SECRET",
            SecretKind::Password => "FORCEBRIDGE_PASSWORD",
            SecretKind::SecurityToken => "FORCEBRIDGE_SECURITY_TOKEN",
            SecretKind::RefreshToken => "FORCEBRIDGE_REFRESH_TOKEN",
            SecretKind::PrivateKey => "FORCEBRIDGE_PRIVATE_KEY",
            SecretKind::AccessToken => "FORCEBRIDGE_ACCESS_TOKEN",
        }
    }

    /// How the secret is named to a person.
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "consumer secret",
            SecretKind::Password => "password",
            SecretKind::SecurityToken => "security token",
            SecretKind::RefreshToken => "refresh token",
            SecretKind::PrivateKey => "private key",
            SecretKind::AccessToken => "access token",
        }
    }
}

/// The secrets of one connection.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<SecretKind, SecretString>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl Secrets {
    pub fn get(&self, kind: SecretKind) -> Option<&SecretString> {
        self.values.get(&kind)
    }

    pub fn set(&mut self, kind: SecretKind, value: SecretString) {
        self.values.insert(kind, value);
    }

    pub fn remove(&mut self, kind: SecretKind) {
        self.values.remove(&kind);
    }

    /// Which secrets are present.
    pub fn kinds(&self) -> impl Iterator<Item = SecretKind> + '_ {
        self.values.keys().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Secrets supplied by the environment (`FORCEBRIDGE_CLIENT_SECRET`, ...). They override the
/// stored ones for whichever connection a command uses, and are never written anywhere.
#[derive(Clone, Default)]
pub struct EnvSecrets(Secrets);

impl fmt::Debug for EnvSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EnvSecrets").field(&self.0).finish()
    }
}

impl EnvSecrets {
    /// Reads the `FORCEBRIDGE_*` secret variables of this process.
    pub fn from_env() -> EnvSecrets {
        EnvSecrets::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads them through `lookup`, for tests and embedders.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> EnvSecrets {
        let mut secrets = Secrets::default();
        for kind in SecretKind::ALL {
            if let Some(value) = lookup(kind.env_var()).filter(|v| !v.is_empty()) {
                secrets.set(kind, SecretString::from(value));
            }
        }
        EnvSecrets(secrets)
    }

    pub fn secrets(&self) -> &Secrets {
        &self.0
    }
}

/// The secrets file.
#[derive(Debug, Clone)]
pub struct SecretStore {
    path: PathBuf,
}

#[derive(Default, Serialize, Deserialize)]
struct SecretsFile {
    #[serde(default)]
    connections: BTreeMap<String, BTreeMap<SecretKind, String>>,
    /// The kept session of each connection that has one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    sessions: BTreeMap<String, SessionRecord>,
}

impl SecretStore {
    pub fn new(path: impl Into<PathBuf>) -> SecretStore {
        SecretStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored secrets of connection `name` (none if it has none).
    pub fn load(&self, name: &str) -> Result<Secrets> {
        let mut file = self.read()?;
        let mut secrets = Secrets::default();
        for (kind, value) in file.connections.remove(name).unwrap_or_default() {
            secrets.set(kind, SecretString::from(value));
        }
        Ok(secrets)
    }

    /// Replaces the stored secrets of connection `name` (its kept session stays).
    pub fn save(&self, name: &str, secrets: &Secrets) -> Result<()> {
        let values = secrets
            .values
            .iter()
            .map(|(kind, value)| (*kind, value.expose_secret().to_string()))
            .collect::<BTreeMap<_, _>>();
        self.change(|file| {
            if values.is_empty() {
                file.connections.remove(name).is_some()
            } else {
                file.connections.insert(name.to_string(), values);
                true
            }
        })
    }

    /// Sets one secret of connection `name`, keeping the others.
    pub fn update(&self, name: &str, kind: SecretKind, value: &SecretString) -> Result<()> {
        self.change(|file| {
            file.connections
                .entry(name.to_string())
                .or_default()
                .insert(kind, value.expose_secret().to_string());
            true
        })
    }

    /// Forgets every secret of connection `name`, and its kept session.
    pub fn remove(&self, name: &str) -> Result<()> {
        self.change(|file| {
            let secrets = file.connections.remove(name).is_some();
            let session = file.sessions.remove(name).is_some();
            secrets || session
        })
    }

    /// The kept session of connection `name`, if it has one.
    pub(crate) fn load_session(&self, name: &str) -> Result<Option<SessionRecord>> {
        Ok(self.read()?.sessions.remove(name))
    }

    /// Keeps `record` as the session of connection `name`, replacing any other.
    pub(crate) fn save_session(&self, name: &str, record: &SessionRecord) -> Result<()> {
        self.change(|file| {
            file.sessions.insert(name.to_string(), record.clone());
            true
        })
    }

    /// Forgets the kept session of connection `name`, if it has one.
    pub(crate) fn remove_session(&self, name: &str) -> Result<()> {
        self.change(|file| file.sessions.remove(name).is_some())
    }

    /// Reads the file, lets `edit` change it, and writes it back if `edit` says it changed,
    /// all under the lock, so no concurrent change is lost. An unchanged file (or its
    /// absence) is left alone.
    fn change(&self, edit: impl FnOnce(&mut SecretsFile) -> bool) -> Result<()> {
        let _lock = self.lock()?;
        let mut file = self.read()?;
        if edit(&mut file) {
            self.write(&file)?;
        }
        Ok(())
    }

    /// An exclusive lock on `{file}.lock`, held until the returned file is dropped. The lock
    /// file is never removed: removing it would let two processes hold "the" lock at once.
    fn lock(&self) -> Result<std::fs::File> {
        let path = lock_path(&self.path);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .map_err(|e| Error::io(&path, "open the lock file", e))?;
        file.lock().map_err(|e| Error::io(&path, "lock", e))?;
        Ok(file)
    }

    fn read(&self) -> Result<SecretsFile> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SecretsFile::default()),
            Err(e) => return Err(Error::io(&self.path, "read", e)),
        };
        check_private(&self.path)?;
        // A parse error would quote the offending line, which may hold a secret: say where only.
        toml::from_str(&text).map_err(|e| {
            let place = e
                .span()
                .map(|span| {
                    let line = text[..span.start].matches('\n').count() + 1;
                    format!(" at line {line}")
                })
                .unwrap_or_default();
            Error::invalid(format!(
                "{} is not a valid secrets file{place}",
                self.path.display()
            ))
        })
    }

    fn write(&self, file: &SecretsFile) -> Result<()> {
        let text = toml::to_string(file)
            .map_err(|e| Error::invalid(format!("cannot encode the secrets file: {e}")))?;
        write_private(&self.path, text.as_bytes())
    }
}

/// The lock file of the secrets file at `path`: `secrets.toml.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Refuses a secrets file that others can read.
fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| Error::io(path, "inspect", e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::invalid(format!(
                "{} can be read by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Replaces `path` atomically with `contents`, readable by its owner only.
///
/// The new contents go to a temporary file (mode 0600) in the same directory, which is
/// synced and then renamed over `path`; the directory is created with mode 0700 if missing.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".forcebridge-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, "create a file in", e))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io(temp.path(), "write", e))?;
    temp.persist(path)
        .map_err(|e| Error::io(path, "replace", e.error))?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io(dir, "create the directory", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("nested/secrets.toml"));
        assert!(store.load("prod").unwrap().is_empty());

        let mut secrets = Secrets::default();
        secrets.set(SecretKind::Password, "hunter2".to_string().into());
        store.save("prod", &secrets).unwrap();
        store
            .update("prod", SecretKind::RefreshToken, &"5Aep".to_string().into())
            .unwrap();
        store
            .update("dev", SecretKind::AccessToken, &"00D!x".to_string().into())
            .unwrap();

        let prod = store.load("prod").unwrap();
        assert_eq!(
            prod.get(SecretKind::Password).unwrap().expose_secret(),
            "hunter2"
        );
        assert_eq!(
            prod.get(SecretKind::RefreshToken).unwrap().expose_secret(),
            "5Aep"
        );
        assert!(!format!("{prod:?}").contains("hunter2"));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.path()), 0o600);
            assert_eq!(mode(store.path().parent().unwrap()), 0o700);
            // No temporary file is left behind: only the file and its lock file, both private.
            let mut entries = std::fs::read_dir(store.path().parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect::<Vec<_>>();
            entries.sort();
            assert_eq!(entries, ["secrets.toml", "secrets.toml.lock"]);
            assert_eq!(mode(&lock_path(store.path())), 0o600);

            std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
            let error = store.load("prod").unwrap_err();
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
    }

    #[test]
    fn concurrent_changes_are_never_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("secrets.toml"));
        // Each thread sets its own connection's secret over and over; every read-modify-write
        // holds the lock, so every connection is there at the end.
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let store = store.clone();
                scope.spawn(move || {
                    for round in 0..10 {
                        store
                            .update(
                                &format!("c{thread}"),
                                SecretKind::Password,
                                &format!("pw-{round}").into(),
                            )
                            .unwrap();
                    }
                });
            }
        });
        for thread in 0..8 {
            let secrets = store.load(&format!("c{thread}")).unwrap();
            assert_eq!(
                secrets.get(SecretKind::Password).unwrap().expose_secret(),
                "pw-9"
            );
        }
    }

    #[test]
    fn a_broken_secrets_file_is_reported_without_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        write_private(&path, b"[connections.prod]\npassword = \"hunter2\nx").unwrap();
        let error = SecretStore::new(&path).load("prod").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("at line"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn environment_secrets_are_read_by_name() {
        let env = EnvSecrets::from_lookup(|name| {
            (name == "FORCEBRIDGE_CLIENT_SECRET").then(|| "s3cr3t".to_string())
        });
        let secrets = env.secrets();
        assert_eq!(
            secrets
                .get(SecretKind::ClientSecret)
                .unwrap()
                .expose_secret(),
            "s3cr3t"
        );
        assert!(secrets.get(SecretKind::Password).is_none());
        assert!(!format!("{env:?}").contains("s3cr3t"));
    }
}
