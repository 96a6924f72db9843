//! The playground page's entry (browser only): everything lives in `lvm_playground::web::page`.

#[cfg(target_arch = "wasm32")]
fn main() {
    lvm_playground::web::page::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the playground page runs in a browser: serve it with ./serve.sh");
    std::process::exit(2);
}
