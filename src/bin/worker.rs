//! The training worker's entry (browser only): everything lives in `lvm_playground::web::worker`.

#[cfg(target_arch = "wasm32")]
fn main() {
    lvm_playground::web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the training worker runs in a browser: serve the playground with ./serve.sh");
    std::process::exit(2);
}
