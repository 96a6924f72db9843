//! A run config's URL query (`lvm train --url`, a worker's `init`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        if let Ok(config) = lvm_playground::config::RunConfig::from_query(query) {
            // What parses must write back to a query that parses to the same config.
            let again = lvm_playground::config::RunConfig::from_query(&config.to_query());
            assert_eq!(again.as_ref().ok(), Some(&config), "{query}");
        }
        let _ = lvm_playground::config::RunConfig::from_query_lenient(query);
    }
});
