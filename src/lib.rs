//! LVM Playground core: data, the study's models, training, metrics and run configs, in plain
//! Rust that builds natively and for `wasm32-unknown-unknown`. Only `web` knows the browser.
//!
//! The folders are layers, each importing only from those before it here (tests/layers.rs
//! keeps it so; docs/architecture.md says what each holds).

pub mod base;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod config;
pub mod data;
pub mod experiment;
pub mod models;
pub mod session;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;

// The names a user of the library starts from (inside the crate, each is named by its layer).
pub use config::RunConfig;
pub use data::dataset::Dataset;
pub use data::windows::{Split, Windows};
pub use models::Model;
pub use session::Session;
pub use train::Trainer;
