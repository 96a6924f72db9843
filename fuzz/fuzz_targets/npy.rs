//! `.npy` files: dataset vectors and the user's own.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = lvm_playground::data::npy::read(data);
});
