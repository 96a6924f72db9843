//! The sentence-encoder worker's entry (browser only): everything lives in
//! `lvm_playground::web::embedding`.

#[cfg(target_arch = "wasm32")]
fn main() {
    lvm_playground::web::embedding::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the encoder worker runs in a browser; natively, use `lvm embed`");
    std::process::exit(2);
}
