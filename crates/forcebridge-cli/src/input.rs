//! Text the user hands a command: an argument, stdin (`-`), or a file (a query, a JSON body,
//! a key, an org file). The one place that reads it, so every command alike drops a leading
//! UTF-8 byte order mark (editors on Windows write one), refuses text that is not UTF-8 and
//! says where, and reports a file it cannot read as a usage error naming the option. Data
//! files that are streamed (the CSV of a bulk load) are not held in memory: [`csv_lines`]
//! reads one through once, counting its lines and checking it is UTF-8.

use std::io::Read;
use std::path::Path;

use crate::output::usage;

/// The UTF-8 byte order mark, which some editors put at the start of a file.
const BOM: &str = "\u{feff}";

/// `text` itself, or all of stdin for `-`. `what` names it in messages (`the query`).
pub(crate) fn arg_or_stdin(text: &str, what: &str) -> anyhow::Result<String> {
    if text == "-" {
        return stdin(what);
    }
    Ok(text.strip_prefix(BOM).unwrap_or(text).to_string())
}

/// A statement given as an argument (`-` for stdin) or with `--file` (clap makes sure there
/// is exactly one of them). `what` names it in messages (`the query`).
pub(crate) fn statement(
    arg: Option<&str>,
    file: Option<&Path>,
    what: &str,
) -> anyhow::Result<String> {
    match (arg, file) {
        (_, Some(path)) => {
            let text = self::file(path, "--file")?;
            // A file's last line break is not part of the statement.
            Ok(text.trim_end_matches(['\n', '\r']).to_string())
        }
        (Some(text), None) => arg_or_stdin(text, what),
        (None, None) => Err(usage(format!("give {what}, or --file"))),
    }
}

/// All of stdin, as one statement or document: without a byte order mark, or the line break
/// `echo` and editors end it with.
pub(crate) fn stdin(what: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::Error::new(e).context(format!("cannot read {what} from stdin")))?;
    let text = decode(bytes, || format!("{what} on stdin"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// The file given to `option` (`--file`, `--key-file`), or stdin for `-`. A file that cannot
/// be read is a usage error that names both; so is text that is not UTF-8.
pub(crate) fn file(path: &Path, option: &str) -> anyhow::Result<String> {
    if path == Path::new("-") {
        return stdin(&format!("{option} -"));
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, option, &e))?;
    decode(bytes, || format!("{option} {}", path.display()))
}

/// Opens a data file a command streams (`-` is stdin, not a file): one it cannot open is a
/// usage error, said before anything is sent.
pub(crate) fn open(path: &Path, what: &str) -> anyhow::Result<std::fs::File> {
    let file = std::fs::File::open(path).map_err(|e| unreadable(path, what, &e))?;
    match file.metadata() {
        Ok(meta) if meta.is_dir() => Err(usage(format!(
            "cannot read {what} {}: it is a directory",
            path.display()
        ))),
        _ => Ok(file),
    }
}

/// The line breaks of the data file at `path` (`what` names it: `the CSV file`), read through
/// once without holding it; text that is not UTF-8 is a usage error that says where, since
/// Bulk API 2.0 takes UTF-8 only and would otherwise fail the rows on the org.
pub(crate) fn csv_lines(path: &Path, what: &str) -> anyhow::Result<u64> {
    let mut file = open(path, what)?;
    let mut buffer = vec![0u8; 1 << 16];
    // The bytes of a character cut by the end of the last read, carried to the next.
    let mut carried = 0usize;
    let (mut lines, mut offset, mut line_start) = (0u64, 0u64, 0u64);
    loop {
        let n = file
            .read(&mut buffer[carried..])
            .map_err(|e| unreadable(path, what, &e))?;
        let filled = carried + n;
        let chunk = &buffer[..filled];
        let (valid, rest) = match std::str::from_utf8(chunk) {
            Ok(_) => (filled, 0),
            // A character cut short by the read: keep its bytes for the next one.
            Err(e) if e.error_len().is_none() && n > 0 => {
                (e.valid_up_to(), filled - e.valid_up_to())
            }
            Err(e) => {
                let at = e.valid_up_to();
                let before = &chunk[..at];
                let line = lines + before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                let start = before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(line_start, |i| offset + i as u64 + 1);
                let column = offset + at as u64 - start + 1;
                return Err(usage(format!(
                    "{what} {} is not UTF-8 text: byte 0x{:02X} at line {line}, byte {column} of the line (byte offset {}); save it as UTF-8",
                    path.display(),
                    chunk[at],
                    offset + at as u64,
                )));
            }
        };
        for (i, _) in chunk[..valid]
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
        {
            lines += 1;
            line_start = offset + i as u64 + 1;
        }
        offset += valid as u64;
        buffer.copy_within(valid..filled, 0);
        carried = rest;
        if n == 0 {
            return Ok(lines);
        }
    }
}

/// The usage error for a file given to `option` that could not be read.
fn unreadable(path: &Path, option: &str, error: &std::io::Error) -> anyhow::Error {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => error.to_string(),
    };
    usage(format!("cannot read {option} {}: {reason}", path.display()))
}

/// `bytes` as text without a leading byte order mark; text that is not UTF-8 is a usage
/// error saying where the first bad byte is (`where_` names the input).
fn decode(bytes: Vec<u8>, where_: impl FnOnce() -> String) -> anyhow::Result<String> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Columns count characters, as editors do; everything before `at` is valid UTF-8.
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        usage(format!(
            "{} is not UTF-8 text: byte 0x{:02X} at line {line}, column {column} (byte offset {at}); save it as UTF-8",
            where_(),
            bytes[at],
        ))
    })?;
    Ok(match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: anyhow::Result<String>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let text = decode(b"\xEF\xBB\xBFSELECT Id FROM Account".to_vec(), String::new).unwrap();
        assert_eq!(text, "SELECT Id FROM Account");
        assert_eq!(arg_or_stdin("\u{feff}{}", "x").unwrap(), "{}");
        // Only a leading one: elsewhere it is part of the text.
        let text = decode("a\u{feff}".as_bytes().to_vec(), String::new).unwrap();
        assert_eq!(text, "a\u{feff}");
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_with_where() {
        let bytes = b"SELECT Id\nFROM Account WHERE Name = 'Caf\xE9'".to_vec();
        let error = message(decode(bytes, || "--file q.soql".into()));
        assert_eq!(
            error,
            "--file q.soql is not UTF-8 text: byte 0xE9 at line 2, column 31 (byte offset 40); save it as UTF-8"
        );
    }

    #[test]
    fn a_missing_file_is_a_usage_error_naming_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        let error = file(&path, "--key-file").unwrap_err();
        assert!(error.downcast_ref::<crate::output::UsageError>().is_some());
        assert_eq!(
            format!("{error:#}"),
            format!("cannot read --key-file {}: no such file", path.display())
        );
        let error = file(dir.path(), "--file").unwrap_err();
        assert!(
            format!("{error:#}").ends_with("it is a directory"),
            "{error:#}"
        );
    }
}
