//! A dataset's `manifest.json`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = lvm_playground::data::dataset::Manifest::parse(data);
});
