//! How many threads a run's matrix products use.
//!
//! Natively that is candle's own count (`RAYON_NUM_THREADS`, which `lvm --threads` sets, else
//! the cores). In a browser worker candle always counts one (no environment, and `num_cpus`
//! says 1 on wasm32), so a worker built with threads sets the size of the rayon pool it
//! started, and `models::product` passes that to gemm itself.

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0: nobody set a count; use the platform's default.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Threads for matrix products from now on (at least 1).
pub fn set(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Runs `f` with `n` threads for matrix products, then puts the count back. Callers take
/// turns: tests that compare thread counts run in one process at once, and each must see its
/// own count for the whole comparison, not another test's.
pub fn with<T>(n: usize, f: impl FnOnce() -> T) -> T {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = THREADS.swap(n.max(1), Ordering::Relaxed);
    let out = f();
    THREADS.store(before, Ordering::Relaxed);
    out
}

/// Threads matrix products use.
pub fn get() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => default(),
        n => n,
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn default() -> usize {
    candle_core::utils::get_num_threads()
}

#[cfg(target_arch = "wasm32")]
fn default() -> usize {
    1
}
