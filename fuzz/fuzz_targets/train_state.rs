//! Training-state safetensors (`lvm train --resume`), resumed on a small stream of windows.
#![no_main]
use lvm_playground::data::Windows;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let rows: Vec<f32> = (0..40 * 8)
        .map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5)
        .collect();
    let windows = Windows::from_stream(rows, 8, 5).expect("40 rows make windows");
    let _ =
        lvm_playground::train::Trainer::resume(data, &windows, &candle_core::Device::Cpu, || 0.0);
});
