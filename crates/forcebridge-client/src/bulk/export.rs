//! A query job's results exported to a file that survives a crash: the pages go to `FILE.part`,
//! and after each page (written and synced) `FILE.part.state` records the job, the bytes of
//! complete pages, the rows, and the locator of the next page. Resuming truncates `FILE.part` to
//! its last complete page and goes on from the saved locator; the header row is written once;
//! only a complete export is renamed to `FILE`.
//!
//! The state file is JSON (`{"job_id", "bytes", "records", "next_locator"}`), read and written
//! only here. This module does not delete the job, or lock the files against another process.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::QueryJob;
use crate::error::{Error, ErrorKind, Result};

/// Where an export stands, reported to the progress callback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportProgress {
    /// Rows in the file so far (header not counted), those of an interrupted run included.
    pub records: u64,
    /// The rows the whole result holds: the job's `numberRecordsProcessed`, known once the job
    /// is complete; `None` while it still runs (a progress bar has no total to show yet).
    pub total_records: Option<u64>,
    /// Bytes in the file so far.
    pub bytes: u64,
    /// Pages downloaded by this run.
    pub pages: u64,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The job whose results were exported.
    pub job_id: String,
    /// The complete file.
    pub path: PathBuf,
    /// Rows in the file (header not counted).
    pub records: u64,
    /// Bytes in the file.
    pub bytes: u64,
    /// Pages downloaded by this run.
    pub pages: u64,
    /// Whether this run went on from an interrupted one.
    pub resumed: bool,
}

/// `FILE.part` and `FILE.part.state`: where an export of `path` keeps its pages and its
/// progress until it is complete.
pub fn export_part_paths(path: &Path) -> (PathBuf, PathBuf) {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let mut state = part.as_os_str().to_owned();
    state.push(".state");
    (part, PathBuf::from(state))
}

impl QueryJob {
    /// Waits for the job and writes its results to `path` as one CSV with one header row, one
    /// page at a time, so that an interrupted export can go on where it stopped
    /// ([`QueryJob::resume_export`]): pages are written to `path.part`, each synced to disk
    /// before `path.part.state` records it, and the file is renamed to `path` when complete.
    /// Any earlier partial export of `path` is discarded.
    ///
    /// `on_progress` is called once at the start, once when the job is complete (with the
    /// result's row count), and after each page. If the future is dropped, a page write
    /// already under way still completes on the blocking pool; the files are consistent
    /// either way.
    pub async fn export_to_file(
        &self,
        path: impl AsRef<Path>,
        on_progress: impl FnMut(&ExportProgress) + Send,
    ) -> Result<ExportSummary> {
        let state = ExportState::start(self.id());
        self.export(path.as_ref(), state, false, on_progress).await
    }

    /// Goes on with an interrupted [`QueryJob::export_to_file`] of `path`: reads
    /// `path.part.state`, checks that it belongs to this job, drops whatever `path.part` holds
    /// after its last complete page, and downloads the rest from the saved locator. Without a
    /// state file the export starts from the beginning. A state file of another job is
    /// refused ([`ErrorKind::NotSent`]), and nothing is changed.
    pub async fn resume_export(
        &self,
        path: impl AsRef<Path>,
        on_progress: impl FnMut(&ExportProgress) + Send,
    ) -> Result<ExportSummary> {
        let path = path.as_ref();
        let (_, state_path) = export_part_paths(path);
        let state = match tokio::fs::read(&state_path).await {
            Ok(bytes) => serde_json::from_slice::<ExportState>(&bytes).map_err(|e| {
                Error::io(
                    format!("{} is not a readable export state", state_path.display()),
                    e,
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ExportState::start(self.id()),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read {}", state_path.display()),
                    e,
                ));
            }
        };
        if state.job_id != self.id() {
            return Err(Error::not_sent(format!(
                "{} belongs to bulk query job {}, not {}",
                state_path.display(),
                state.job_id,
                self.id()
            )));
        }
        let resumed = state.bytes > 0;
        self.export(path, state, resumed, on_progress).await
    }

    async fn export(
        &self,
        path: &Path,
        mut state: ExportState,
        resumed: bool,
        mut on_progress: impl FnMut(&ExportProgress) + Send,
    ) -> Result<ExportSummary> {
        let (part, state_path) = export_part_paths(path);
        let mut progress = ExportProgress {
            records: state.records,
            total_records: None,
            bytes: state.bytes,
            pages: 0,
        };
        on_progress(&progress);
        // Open the partial file and drop anything after the last complete page: it is from
        // a write that was cut.
        let mut file = {
            let (part, state_path, bytes) = (part.clone(), state_path.clone(), state.bytes);
            blocking(&part.clone(), move || {
                if bytes == 0 {
                    // A fresh start: a state left by another export no longer applies.
                    match std::fs::remove_file(&state_path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(&part)?;
                if file.metadata()?.len() < bytes {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("it holds fewer bytes than the {bytes} its saved state counts"),
                    ));
                }
                file.set_len(bytes)?;
                file.seek(SeekFrom::Start(bytes))?;
                Ok(file)
            })
            .await?
        };
        // A state with bytes and no next page is an export that was complete but not yet
        // renamed.
        if state.bytes == 0 || state.next_locator.is_some() {
            // The job's row count is known once it is complete: the total to show progress
            // against.
            let info = self.wait().await?;
            progress.total_records = info.number_records_processed;
            on_progress(&progress);
            let mut header_written = state.bytes > 0;
            let mut pages = self.pages_of_complete_job(state.next_locator.as_deref());
            while let Some(page) = pages.try_next().await? {
                let body: Bytes = if header_written {
                    let rows = page.without_header().len();
                    page.bytes.slice(page.bytes.len() - rows..)
                } else {
                    header_written = true;
                    page.bytes.clone()
                };
                state.bytes += body.len() as u64;
                state.records += page.records;
                state.next_locator = page.next_locator.clone();
                let saved = state.clone();
                let state_path = state_path.clone();
                file = blocking(&part, move || {
                    file.write_all(&body)?;
                    file.sync_data()?;
                    saved.save(&state_path)?;
                    Ok(file)
                })
                .await?;
                progress = ExportProgress {
                    records: state.records,
                    total_records: progress.total_records,
                    bytes: state.bytes,
                    pages: progress.pages + 1,
                };
                on_progress(&progress);
            }
        }
        drop(file);
        let target = path.to_path_buf();
        blocking(path, move || {
            std::fs::rename(&part, &target)?;
            match std::fs::remove_file(&state_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
        .await?;
        tracing::debug!(job = %self.id(), records = state.records, bytes = state.bytes, resumed, "bulk query exported");
        Ok(ExportSummary {
            job_id: self.id().to_string(),
            path: path.to_path_buf(),
            records: state.records,
            bytes: state.bytes,
            pages: progress.pages,
            resumed,
        })
    }
}

/// Where an interrupted export stands, kept beside its partial file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExportState {
    job_id: String,
    /// Bytes of `FILE.part` that hold complete pages.
    bytes: u64,
    /// Rows in those pages.
    records: u64,
    /// Where the next page starts; `None` before the first page and after the last.
    next_locator: Option<String>,
}

impl ExportState {
    fn start(job_id: &str) -> ExportState {
        ExportState {
            job_id: job_id.to_string(),
            bytes: 0,
            records: 0,
            next_locator: None,
        }
    }

    /// Replaces the state file atomically: written beside it, synced, renamed over it.
    fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut temp = path.as_os_str().to_owned();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        file.sync_data()?;
        std::fs::rename(&temp, path)
    }
}

/// Runs file work on the blocking pool; a failure names `path`. The export's requests have
/// been sent by then, so the error is not "not sent".
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    let what = path.display().to_string();
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::io(format!("cannot write {what}"), e).sent()),
        Err(join) => Err(Error::new(
            ErrorKind::Io,
            format!("the writer of {what} stopped: {join}"),
        )
        .sent()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partial_files_sit_beside_the_export() {
        let (part, state) = export_part_paths(Path::new("out/accounts.csv"));
        assert_eq!(part, Path::new("out/accounts.csv.part"));
        assert_eq!(state, Path::new("out/accounts.csv.part.state"));
    }

    #[test]
    fn the_state_file_keeps_its_format() {
        let state = ExportState {
            job_id: "750x".into(),
            bytes: 12,
            records: 3,
            next_locator: Some("MTAw".into()),
        };
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            r#"{"job_id":"750x","bytes":12,"records":3,"next_locator":"MTAw"}"#
        );
    }
}
