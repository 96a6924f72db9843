//! The runs saved in this browser (the workers write them after every epoch): listing them
//! from each file's header alone, so a reload offers "Resume from epoch N" without reading any
//! weights, and "Forget saved runs". What the lists mean is `crate::experiment::saved_runs`'s business.

use super::super::opfs;
use super::{schedule_render, with_app};
use crate::experiment::saved_runs::{self, Saved, SavedRuns};
use crate::train::{header_len, saved_log};
use web_sys::File;

/// Lists the saved runs again and shows them.
pub async fn refresh() {
    let listed = list().await;
    with_app(|app| app.saved = listed);
    schedule_render();
}

async fn list() -> SavedRuns {
    let mut listed = SavedRuns::default();
    let files = match opfs::folder(saved_runs::DIR, false).await {
        Ok(Some(dir)) => opfs::files(&dir).await,
        Ok(None) => Ok(Vec::new()),
        Err(e) => Err(e),
    };
    match files {
        Ok(files) => {
            for file in files {
                let bytes = file.size() as u64;
                match summary(&file, bytes).await {
                    Ok(s) => {
                        listed.runs.insert(file.name(), s);
                    }
                    Err(_) => listed.unreadable.push((file.name(), bytes)),
                }
            }
        }
        Err(e) => listed.error = Some(e),
    }
    listed
}

/// A saved run's epochs, from its header (bounded by `MAX_STATE_HEADER`).
async fn summary(file: &File, bytes: u64) -> Result<Saved, String> {
    let first = opfs::read(file, Some((0, bytes.min(8)))).await?;
    let end = header_len(&first).map_err(|e| e.to_string())? as u64;
    let head = opfs::read(file, Some((0, end.min(bytes)))).await?;
    let log = saved_log(&head, bytes).map_err(|e| e.to_string())?;
    Ok(Saved::from_log(&log, bytes))
}

/// Removes every saved run (a worker still training saves its next epoch again).
pub async fn forget() {
    if let Err(e) = opfs::remove_folder(saved_runs::DIR).await {
        with_app(|app| app.notices = vec![format!("The saved runs could not be removed: {e}.")]);
    }
    refresh().await;
}
