//! Checkpoint safetensors: "Load pretrained", dropped weights, `lvm eval`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(ckpt) = lvm_playground::train::checkpoint::load(data) {
        // A checkpoint that loads must also build its model or say why.
        let _ = ckpt.into_model(&candle_core::Device::Cpu);
    }
});
