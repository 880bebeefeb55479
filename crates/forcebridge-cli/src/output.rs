//! Everything the binary prints, and how a command's outcome becomes an exit code.
//!
//! Commands return `Result<Outcome>`; `finish` prints errors with their whole cause chain and
//! maps them to exit codes. A closed stdout (`forcebridge ... | head`) ends the process quietly.

use std::io::{self, Write};
use std::process::ExitCode;

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Success = 0,
    /// The input was checked and found wrong (an invalid query), or the operation failed.
    Failure = 1,
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
        Err(error) => {
            stderr(&format!("error: {error:#}\n"));
            ExitCode::from(Exit::Failure as u8)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
