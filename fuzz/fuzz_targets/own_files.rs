//! The user's own files ("Use your own data", `lvm dataset import`): the input's first two
//! bytes (little-endian) say where its vectors file ends and its texts file begins.
#![no_main]
use lvm_playground::data::import::{import_files, Given};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else { return };
    let (vectors, texts) = rest.split_at((u16::from_le_bytes([*a, *b]) as usize).min(rest.len()));
    let _ = import_files(&[
        Given {
            file: "v.npy",
            bytes: vectors,
        },
        Given {
            file: "t.txt",
            bytes: texts,
        },
    ]);
});
