//! A dataset's `manifest.json`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = lvm_playground::dataset::Manifest::parse(data);
});
