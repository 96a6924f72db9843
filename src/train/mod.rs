//! Training: losses, Adam, the step-wise trainer and what it reports (the run log), its
//! checkpoints, the memory a run needs, and the speed benchmark.

pub mod adam;
pub mod bench;
pub mod checkpoint;
pub mod log;
pub mod loss;
pub mod memory;
pub mod retrieval;
mod trainer;

pub use trainer::{
    evaluate, header_len, predict, retrieval, saved_config, saved_log, Clock, Evaluation,
    StateError, StepPhases, StepReport, TrainError, Trainer, MAX_STATE_HEADER, STATE_FORMAT,
};

/// A monotonic clock for native callers: seconds since the first call.
#[cfg(not(target_arch = "wasm32"))]
pub fn native_clock() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}
