//! Downloads with progress, kept in the Cache API so a dataset is fetched once per browser.
//! Works in the page and in a worker (both have `fetch` and `caches`).

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, ReadableStreamDefaultReader, Response};

const CACHE: &str = "lvm-playground-v1";

/// Largest file the page downloads (a dataset's vectors are about 45 MB).
const MAX_BYTES: f64 = 512.0 * 1024.0 * 1024.0;

/// `fetch(url)` from whichever global scope this runs in.
fn fetch(url: &str) -> js_sys::Promise {
    let global = js_sys::global();
    match global.dyn_ref::<web_sys::Window>() {
        Some(w) => w.fetch_with_str(url),
        None => global
            .unchecked_ref::<web_sys::WorkerGlobalScope>()
            .fetch_with_str(url),
    }
}

async fn cache() -> Option<Cache> {
    // No Cache API (e.g. a non-secure origin) just means no caching.
    let global = js_sys::global();
    let storage = match global.dyn_ref::<web_sys::Window>() {
        Some(w) => w.caches(),
        None => global
            .unchecked_ref::<web_sys::WorkerGlobalScope>()
            .caches(),
    }
    .ok()?;
    JsFuture::from(storage.open(CACHE))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

/// Fetches `url` (from the cache when it is there), calling `progress(loaded, total)` as bytes
/// arrive. A failed or truncated download is an error that names the file; it is not cached.
pub async fn fetch_cached(
    url: &str,
    progress: &dyn Fn(f64, Option<f64>),
) -> Result<Uint8Array, String> {
    let cache = cache().await;
    if let Some(cache) = &cache {
        if let Some(bytes) = from_cache(cache, url, progress).await {
            return Ok(bytes);
        }
    }
    let response: Response = JsFuture::from(fetch(url))
        .await
        .map_err(|e| format!("could not download {url}: {}", describe(&e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!(
            "could not download {url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let bytes = read_body(url, &response, progress).await?;
    if let Some(cache) = &cache {
        if let Ok(copy) = Response::new_with_opt_buffer_source(Some(&bytes)) {
            let _ = JsFuture::from(cache.put_with_str(url, &copy)).await;
        }
    }
    Ok(bytes)
}

/// The cached bytes of `url`, never the network: where a user's own dataset lives.
pub async fn cached(url: &str) -> Option<Uint8Array> {
    from_cache(&cache().await?, url, &|_, _| {}).await
}

/// `url`'s bytes in `cache`, if it holds a whole copy.
async fn from_cache(
    cache: &Cache,
    url: &str,
    progress: &dyn Fn(f64, Option<f64>),
) -> Option<Uint8Array> {
    let hit = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    let response = hit.dyn_into::<Response>().ok()?;
    read_body(url, &response, progress).await.ok()
}

/// Keeps `bytes` in the cache as `url`'s. A full or refused storage is an error that says so.
pub async fn store(url: &str, bytes: &[u8]) -> Result<(), String> {
    let cache = cache()
        .await
        .ok_or("this browser gives the page no storage (the Cache API is unavailable)")?;
    let body = Uint8Array::from(bytes);
    let response = Response::new_with_opt_buffer_source(Some(&body))
        .map_err(|e| format!("could not store {url}: {}", describe(&e)))?;
    JsFuture::from(cache.put_with_str(url, &response))
        .await
        .map(|_| ())
        .map_err(|e| format!("the browser refused to store {url} ({})", describe(&e)))
}

/// Every URL in the cache.
pub async fn cached_urls() -> Vec<String> {
    let Some(cache) = cache().await else {
        return Vec::new();
    };
    let Ok(keys) = JsFuture::from(cache.keys()).await else {
        return Vec::new();
    };
    js_sys::Array::from(&keys)
        .iter()
        .filter_map(|r| r.dyn_into::<web_sys::Request>().ok())
        .map(|r| r.url())
        .collect()
}

/// Drops `url` from the cache (after its contents turned out to be corrupt).
pub async fn evict(url: &str) {
    if let Some(cache) = cache().await {
        let _ = JsFuture::from(cache.delete_with_str(url)).await;
    }
}

async fn read_body(
    url: &str,
    response: &Response,
    progress: &dyn Fn(f64, Option<f64>),
) -> Result<Uint8Array, String> {
    let headers = response.headers();
    // A compressed response's length is not the length of the bytes we read.
    let encoded = headers.get("content-encoding").ok().flatten().is_some();
    let total = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|_| !encoded);
    if total.is_some_and(|t| t > MAX_BYTES) {
        return Err(format!("{url} is larger than {MAX_BYTES} bytes"));
    }
    let body = response
        .body()
        .ok_or_else(|| format!("{url}: empty response"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut chunks: Vec<Uint8Array> = Vec::new();
    let mut loaded = 0.0;
    progress(0.0, total);
    loop {
        let result = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("download of {url} broke off: {}", describe(&e)))?;
        let done = Reflect::get(&result, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let chunk: Uint8Array = Reflect::get(&result, &"value".into())
            .map_err(|_| format!("{url}: unreadable chunk"))?
            .unchecked_into();
        loaded += chunk.length() as f64;
        if loaded > MAX_BYTES {
            return Err(format!("{url} is larger than {MAX_BYTES} bytes"));
        }
        chunks.push(chunk);
        progress(loaded, total);
    }
    if let Some(total) = total {
        if loaded != total {
            return Err(format!(
                "download of {url} is truncated: {loaded} of {total} bytes"
            ));
        }
    }
    let out = Uint8Array::new_with_length(loaded as u32);
    let mut at = 0;
    for c in chunks {
        out.set(&c, at);
        at += c.length();
    }
    Ok(out)
}

pub fn describe(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}
