//! Messages to and from a worker (JSON).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(json) = std::str::from_utf8(data) {
        let _ = lvm_playground::session::protocol::ToWorker::from_json(json);
        let _ = lvm_playground::session::protocol::FromWorker::from_json(json);
    }
});
