//! `lvm`: the native command line. Everything it does lives in `lvm_playground::cli`.

#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3); libmimalloc-sys has no name for it.
#[cfg(not(target_arch = "wasm32"))]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    // Keep freed memory mapped. A training step allocates and frees tens of MB of tensors, and
    // by default mimalloc returns it to the OS after 10 ms, so every step paid page faults and
    // kernel page zeroing again: a quarter of a Transformer step under `perf`, and MLP steps of
    // 55 ms instead of 40 ms.
    // SAFETY: sets a process-wide allocator option before any thread is started.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    lvm_playground::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
