//! Data: sentence vectors and what is computed from them before any model — the `.npy`
//! format, datasets and their manifests, context windows and splits, a user's own files and
//! texts, the sentence encoders, cosine scores, the baselines and the ridge regression.

pub mod cosine;
pub mod dataset;
pub mod embed;
pub mod import;
pub mod npy;
pub mod ridge;
pub mod sentences;
pub mod windows;
