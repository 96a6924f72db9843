//! A dataset's `texts.jsonl` (its first byte is the sentence count the manifest would give).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&count, rest)) = data.split_first() {
        let _ = lvm_playground::data::dataset::parse_texts(rest, count as usize);
    }
});
