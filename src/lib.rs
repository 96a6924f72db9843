//! LVM Playground core: data, the study's models, training, metrics and run configs, in plain
//! Rust that builds natively and for `wasm32-unknown-unknown`. Only `web` knows the browser.

pub mod bench;
pub mod card;
pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod data;
pub mod dataset;
pub mod embed;
pub mod import;
pub mod labels;
pub mod lessons;
pub mod memory;
pub mod metrics;
pub mod models;
pub mod npy;
pub mod playground;
pub mod protocol;
pub mod ranking;
pub mod ridge;
pub mod rng;
pub mod run;
pub mod saved;
pub mod sentences;
pub mod session;
pub mod spread;
pub mod threads;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
