//! The origin private file system, where runs are saved (`crate::experiment::saved_runs`): the few calls the
//! training worker (which writes) and the page (which lists and forgets) make. Both reach it
//! through `navigator.storage`, so nothing here knows which of the two it runs in.
//!
//! Every error is a sentence with the browser's `DOMException` name in it (`QuotaExceededError:
//! …`), which `crate::experiment::saved_runs::not_saved` turns into what the user reads.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemRemoveOptions, StorageManager,
};
// Writing and opening one file: the workers' (the page lists and removes).
#[cfg(feature = "workers")]
use web_sys::{FileSystemGetFileOptions, FileSystemWritableFileStream};

/// The name of a thrown `DOMException` or `Error` (`NotFoundError`, `QuotaExceededError`).
fn name_of(e: &JsValue) -> Option<String> {
    Reflect::get(e, &"name".into()).ok()?.as_string()
}

/// "Name: message" of a thrown `DOMException` or `Error` (the name is what
/// `crate::experiment::saved_runs::not_saved` reads), else what `fetch::describe` makes of it.
fn describe(e: &JsValue) -> String {
    let message = super::fetch::describe(e);
    match name_of(e) {
        Some(name) => format!("{name}: {message}"),
        None => message,
    }
}

fn is_not_found(e: &JsValue) -> bool {
    name_of(e).is_some_and(|n| n == "NotFoundError" || n == "TypeMismatchError")
}

async fn wait(promise: Promise) -> Result<JsValue, String> {
    JsFuture::from(promise).await.map_err(|e| describe(&e))
}

/// `navigator.storage`, if this context has one with a file system.
fn storage() -> Result<StorageManager, String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    let storage = Reflect::get(&navigator, &"storage".into()).unwrap_or_default();
    let get_directory = Reflect::get(&storage, &"getDirectory".into()).unwrap_or_default();
    if storage.is_undefined() || !get_directory.is_function() {
        return Err("SecurityError: this context has no navigator.storage".into());
    }
    Ok(storage.unchecked_into())
}

async fn root() -> Result<FileSystemDirectoryHandle, String> {
    Ok(wait(storage()?.get_directory()).await?.unchecked_into())
}

/// What the origin may still store (its quota less its usage), if the browser says.
#[cfg(feature = "workers")]
pub async fn free_bytes() -> Option<u64> {
    let estimate = wait(storage().ok()?.estimate().ok()?).await.ok()?;
    let field = |key: &str| Reflect::get(&estimate, &key.into()).ok()?.as_f64();
    Some((field("quota")? - field("usage")?).max(0.0) as u64)
}

/// The folder `name` at the root; `None` if it is absent and not to be created.
pub async fn folder(name: &str, create: bool) -> Result<Option<FileSystemDirectoryHandle>, String> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    let promise = root()
        .await?
        .get_directory_handle_with_options(name, &options);
    match JsFuture::from(promise).await {
        Ok(dir) => Ok(Some(dir.unchecked_into())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(describe(&e)),
    }
}

/// The most one `write` sends. Chromium passes a write to its storage process through a
/// pipe, and a large one that the quota refuses can fail as a broken pipe (`AbortError: Failed
/// to write data to data pipe`) instead of a `QuotaExceededError`. In the quota-full e2e test
/// that happened in 2 of 4 runs with one write, 2 of 8 with 4 MiB pieces, and 0 of 18 with
/// 256 KiB pieces. Pieces also keep the JS-side copy small.
#[cfg(feature = "workers")]
const WRITE_CHUNK: usize = 256 << 10;

/// Replaces file `name` in `dir` with `bytes`. The browser writes to a temporary file and
/// swaps it in on close, so a write that fails or is cut short leaves the old file whole.
#[cfg(feature = "workers")]
pub async fn write(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    bytes: &[u8],
) -> Result<(), String> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    let file: FileSystemFileHandle = wait(dir.get_file_handle_with_options(name, &options))
        .await?
        .unchecked_into();
    let stream: FileSystemWritableFileStream = wait(file.create_writable()).await?.unchecked_into();
    let mut written = Ok(());
    for chunk in bytes.chunks(WRITE_CHUNK) {
        // A copy outside wasm memory: the threaded worker's memory is shared, and `write`
        // takes no view of a SharedArrayBuffer.
        let copy = Uint8Array::new_with_length(chunk.len() as u32);
        copy.copy_from(chunk);
        written = match stream.write_with_js_u8_array(&copy) {
            Ok(promise) => wait(promise).await.map(|_| ()),
            Err(e) => Err(describe(&e)),
        };
        if written.is_err() {
            break;
        }
    }
    match written {
        Ok(()) => wait(stream.close()).await.map(|_| ()),
        Err(e) => {
            let _ = wait(stream.abort()).await;
            Err(e)
        }
    }
}

/// File `name` in `dir` as a `File` (read lazily), or `None` if there is none.
#[cfg(feature = "workers")]
pub async fn file(dir: &FileSystemDirectoryHandle, name: &str) -> Result<Option<File>, String> {
    let handle = match JsFuture::from(dir.get_file_handle(name)).await {
        Ok(h) => h.unchecked_into::<FileSystemFileHandle>(),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(describe(&e)),
    };
    Ok(Some(wait(handle.get_file()).await?.unchecked_into()))
}

/// Bytes `start..end` of a file (all of it for `None`).
pub async fn read(file: &File, range: Option<(u64, u64)>) -> Result<Vec<u8>, String> {
    let blob: Blob = match range {
        Some((start, end)) => file
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|e| describe(&e))?,
        None => file.clone().into(),
    };
    Ok(Uint8Array::new(&wait(blob.array_buffer()).await?).to_vec())
}

/// The files directly in `dir`.
pub async fn files(dir: &FileSystemDirectoryHandle) -> Result<Vec<File>, String> {
    // `values()` is an async iterator, which web-sys types too generically to use here.
    let iterator = dir.values();
    let next: Function = Reflect::get(&iterator, &"next".into())
        .map_err(|e| describe(&e))?
        .unchecked_into();
    let mut files = Vec::new();
    loop {
        let step = next.call0(&iterator).map_err(|e| describe(&e))?;
        let step = wait(step.unchecked_into()).await?;
        if Reflect::get(&step, &"done".into()).is_ok_and(|d| d.is_truthy()) {
            return Ok(files);
        }
        let handle = Reflect::get(&step, &"value".into()).map_err(|e| describe(&e))?;
        if Reflect::get(&handle, &"kind".into())
            .ok()
            .and_then(|k| k.as_string())
            .as_deref()
            == Some("file")
        {
            let handle: FileSystemFileHandle = handle.unchecked_into();
            files.push(wait(handle.get_file()).await?.unchecked_into());
        }
    }
}

/// Removes the folder `name` at the root and everything in it (nothing if it is absent).
pub async fn remove_folder(name: &str) -> Result<(), String> {
    let options = FileSystemRemoveOptions::new();
    options.set_recursive(true);
    match JsFuture::from(root().await?.remove_entry_with_options(name, &options)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(describe(&e)),
    }
}
