//! Everything that knows about the browser: the page, the training worker, and the
//! `#[wasm_bindgen]` API that plain JS pages use (`pkg/`, built by wasm-pack). The rest of the
//! crate is plain Rust; this module only moves its data across `postMessage`, `fetch` and the
//! DOM.

#[cfg(feature = "workers")]
pub mod api;
mod dom;
#[cfg(feature = "workers")]
pub mod embedding;
mod fetch;
#[cfg(feature = "workers")]
mod lock;
mod opfs;
pub mod page;
mod plot;
#[cfg(feature = "workers")]
pub mod worker;

/// Seconds since the page or worker started (`performance.now()`), the clock runs use.
pub fn now() -> f64 {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let performance = if let Some(w) = global.dyn_ref::<web_sys::Window>() {
        w.performance()
    } else {
        global
            .unchecked_ref::<web_sys::WorkerGlobalScope>()
            .performance()
    };
    performance.map(|p| p.now() / 1000.0).unwrap_or(0.0)
}
