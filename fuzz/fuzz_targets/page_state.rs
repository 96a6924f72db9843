//! The page's URL: an experiment, lessons, old links.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        let (state, _errors) = lvm_playground::experiment::page_state::PageState::from_query(query);
        let _ = state.to_query();
    }
});
