//! Everything the binary prints, and how a command's outcome becomes an exit code.
//!
//! Commands return `Result<Outcome>`; `finish` prints errors with their whole cause chain and
//! maps them to exit codes. A closed stdout (`forcebridge ... | head`) ends the process quietly.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

use forcebridge_connect::Flow;

/// The saved connection (its name, `None` for the local org) and login flow this command
/// opened: a refused login can happen on any request (a kept session the org no longer
/// accepts is replaced on the spot), and the hint printed with it depends on the flow.
static CONNECTION: OnceLock<(Option<String>, Flow)> = OnceLock::new();

/// Records the connection this command uses, for the hints printed with a refused login.
pub(crate) fn using_connection(name: Option<&str>, flow: Flow) {
    let _ = CONNECTION.set((name.map(str::to_string), flow));
}

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Success = 0,
    /// The org refused the request (a Salesforce API error), a local file could not be read or
    /// written, or the operation failed (`soql check` of an invalid statement too).
    Failure = 1,
    /// The command line or the set-up is wrong: bad arguments (clap exits 2 too), a query the
    /// client refused before sending it (shown with its code frame), no such connection, a
    /// missing secret, or a write refused by a read-only connection.
    Usage = 2,
    /// Logging in failed: bad credentials, an expired or revoked session that cannot be renewed.
    Auth = 3,
    /// An API limit: the org's `REQUEST_LIMIT_EXCEEDED`, or the connection's API budget.
    Limit = 4,
    /// The org could not be reached, or answered with something that is not Salesforce's API.
    Network = 5,
    /// Stopped by Ctrl-C (SIGINT), after saying what was left running and what to do next
    /// (128 + the signal's number, as shells report it).
    Interrupted = 130,
    /// Stopped by SIGTERM, likewise.
    Terminated = 143,
}

/// What a command reports when it did not fail outright.
pub(crate) type Outcome = Exit;

/// Writes `text` to stdout.
pub(crate) fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `value` to stdout as pretty JSON followed by a newline.
pub(crate) fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    stdout(&text)?;
    Ok(())
}

/// Writes `value` to stdout as compact JSON on one line, so a reader can take the first line.
pub(crate) fn json_line(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string(value)?;
    text.push('\n');
    stdout(&text)?;
    Ok(())
}

/// Writes `text` to stderr. Diagnostics go there so stdout stays clean for data.
pub(crate) fn stderr(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
}

pub(crate) fn finish(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => ExitCode::from(print_error(&error) as u8),
    }
}

/// Prints `error` on stderr (with its whole cause chain, or as its code frame, and a login
/// hint when there is one) and returns its exit code, for a command that adds advice after
/// it.
pub(crate) fn print_error(error: &anyhow::Error) -> Exit {
    // A statement refused before sending is shown as the client renders it: its code frames,
    // a window of the statement with a caret under each problem.
    match code_frame(error) {
        Some(frame) => stderr(frame),
        None => stderr(&format!("error: {error:#}\n")),
    }
    if let Some(hint) = certificate_hint(error) {
        stderr(&format!("hint: {hint}\n"));
    } else if let Some(hint) = login_hint(error) {
        stderr(&format!("hint: {hint}\n"));
    }
    // A saved connection whose login the org refused is put right by logging in again.
    if refused_login(error).is_some()
        && let Some((Some(name), _)) = CONNECTION.get()
    {
        stderr(&format!(
            "hint: log in to it again with `forcebridge connect login {name}`\n"
        ));
    }
    exit_for(error)
}

/// The code frame of a statement the client refused, anywhere in the chain.
fn code_frame(error: &anyhow::Error) -> Option<&str> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<forcebridge_client::Error>())
        .and_then(forcebridge_client::Error::code_frame)
}

/// The exit code for an error, from the most specific cause in its chain.
fn exit_for(error: &anyhow::Error) -> Exit {
    use forcebridge_client::ErrorKind as Client;
    use forcebridge_connect::ErrorKind as Connect;
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<forcebridge_client::Error>() {
            return match e.kind() {
                Client::NotSent | Client::InvalidQuery => Exit::Usage,
                Client::Auth => Exit::Auth,
                Client::Limit => Exit::Limit,
                Client::Transport | Client::Decode => Exit::Network,
                _ => Exit::Failure,
            };
        }
        if let Some(e) = cause.downcast_ref::<forcebridge_connect::Error>() {
            match e.kind() {
                // The client error inside says more.
                Connect::Client => continue,
                Connect::Io | Connect::LocalOrg => return Exit::Failure,
                _ => return Exit::Usage,
            }
        }
        if let Some(e) = cause.downcast_ref::<forcebridge_catalog::Error>() {
            match e.kind() {
                // The client error inside says more.
                forcebridge_catalog::ErrorKind::Org => continue,
                forcebridge_catalog::ErrorKind::InvalidInput
                | forcebridge_catalog::ErrorKind::Document => return Exit::Usage,
                _ => return Exit::Failure,
            }
        }
        if let Some(e) = cause.downcast_ref::<forcebridge_sync::Error>() {
            match e.kind() {
                // The client error inside says more.
                forcebridge_sync::ErrorKind::Org => continue,
                forcebridge_sync::ErrorKind::Config => return Exit::Usage,
                forcebridge_sync::ErrorKind::Budget => return Exit::Limit,
                _ => return Exit::Failure,
            }
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return Exit::Usage;
        }
    }
    Exit::Failure
}

/// What to check after a failed login, when the org's answer says (see
/// `forcebridge_connect::login_hint`): from connect's error, or, for a login refused in the
/// middle of a command, from the client's and the connection's flow.
fn login_hint(error: &anyhow::Error) -> Option<&'static str> {
    error
        .chain()
        .find_map(|cause| {
            cause
                .downcast_ref::<forcebridge_connect::Error>()
                .and_then(forcebridge_connect::Error::login_hint)
        })
        .or_else(|| {
            let (_, flow) = CONNECTION.get()?;
            forcebridge_connect::login_hint(*flow, refused_login(error)?)
        })
}

/// How to trust an org whose TLS certificate was refused (the client never retries that).
fn certificate_hint(error: &anyhow::Error) -> Option<&'static str> {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<forcebridge_client::Error>())
        .any(forcebridge_client::Error::is_certificate_error)
        .then_some(
            "the org's TLS certificate is not trusted on this machine: if a private authority signed it (a local org's), save the connection with that authority's certificate: `forcebridge connect add NAME ... --ca-file PATH` (add --force to replace a saved one); `forcebridge emulator --tls` prints the exact command",
        )
}

/// The client's auth error in the chain: the org refused a login or a session.
fn refused_login(error: &anyhow::Error) -> Option<&forcebridge_client::Error> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<forcebridge_client::Error>())
        .filter(|e| e.kind() == forcebridge_client::ErrorKind::Auth)
}

/// An error in how the command was asked (exit code 2).
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Fails with a usage error.
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// Whether stdout and stderr are terminals.
pub(crate) fn stdout_is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stdout())
}

pub(crate) fn stderr_is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stderr())
}

/// Resolves once stdout is a pipe whose reader has gone, as when `| head` has read its
/// lines; never otherwise (a terminal, a file). A command that only prints races this, so that
/// it stops fetching (and retrying, and warning about it) as soon as nobody reads, not only at
/// its next write.
#[cfg(unix)]
pub(crate) async fn stdout_closed() {
    use std::os::unix::fs::FileTypeExt;
    use tokio::io::Interest;
    use tokio::net::unix::pipe::Sender;

    // A copy of the descriptor, watched for readiness and never written through: stdout
    // itself stays as it is (blocking, which is why the unchecked constructor, which does not
    // make it non-blocking, is the right one).
    let watched = std::os::fd::AsFd::as_fd(&io::stdout())
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .ok()
        .filter(|file| file.metadata().is_ok_and(|m| m.file_type().is_fifo()))
        .and_then(|file| Sender::from_file_unchecked(file).ok());
    let Some(pipe) = watched else {
        return std::future::pending().await;
    };
    // Linux reports an error on a pipe's writing end once it has no reader left.
    loop {
        match pipe.ready(Interest::ERROR).await {
            // Woken with no error (which tokio allows): look again a little later.
            Ok(ready) if !ready.is_error() => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            _ => return,
        }
    }
}

#[cfg(not(unix))]
pub(crate) async fn stdout_closed() {
    std::future::pending().await
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = match cause.downcast_ref::<io::Error>() {
            Some(e) => Some(e.kind()),
            // serde_json's error holds the io::Error without showing it as its source.
            None => cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind),
        };
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}
