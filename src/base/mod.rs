//! The bottom layer: what every other layer may use and that knows nothing of the task —
//! seeded random streams, the run's thread count, and numbers written for people.

pub mod format;
pub mod rng;
pub mod threads;
