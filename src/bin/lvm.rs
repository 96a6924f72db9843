//! `lvm`: the native command line. Everything it does lives in `lvm_playground::cli`.

#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    lvm_playground::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
