//! Training-state safetensors (`lvm train --resume`, and the runs the page saves in the
//! browser): resumed on a small stream of windows, and summarised from its header alone as the
//! page lists saved runs (at the file's own length and at one byte more).
#![no_main]
use lvm_playground::data::windows::Windows;
use lvm_playground::train::{header_len, saved_log};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let rows: Vec<f32> = (0..40 * 8)
        .map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5)
        .collect();
    let windows = Windows::from_stream(rows, 8, 5).expect("40 rows make windows");
    let _ =
        lvm_playground::train::Trainer::resume(data, &windows, &candle_core::Device::Cpu, || 0.0);
    if let Ok(end) = header_len(data) {
        let head = &data[..end.min(data.len())];
        let _ = saved_log(head, data.len() as u64);
        let _ = saved_log(head, data.len() as u64 + 1);
    }
});
