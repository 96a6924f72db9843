//! What a run needs in memory, from its config and its data alone (nothing is allocated), so
//! a run that cannot fit is refused with the figures before it starts: a browser worker has
//! the 4 GiB of wasm32's address space, a native run the machine's available memory.
//!
//! The estimate is a floor, not a forecast: every parameter four times in float32 (weights,
//! gradients, Adam's two moments) and once more for the best epoch's copy; the dataset's
//! vectors in float32 beside the file they were read from; one batch's activations as the
//! forward pass keeps them for the backward one, counted per layer at the widths the model
//! stores. Allocator slack and temporaries come on top, so a run under the limit may still
//! fail, and the worker's crash message stays for that.

use crate::config::{ModelKind, RunConfig};

/// A wasm32 worker's whole address space.
pub const WASM32_BYTES: u64 = 4 << 30;
/// What the page's messages call that limit.
pub const WORKER: &str = "a browser worker (wasm32)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    pub params: u64,
    /// Weights, gradients, Adam's moments and the best epoch's copy.
    pub training_state: u64,
    pub dataset: u64,
    pub activations: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.training_state + self.dataset + self.activations
    }
}

fn linear(inp: u64, out: u64) -> u64 {
    inp * out + out
}

/// `nn.MultiheadAttention(d)`: in_proj `[3d, d]` and its bias, out_proj `Linear(d, d)`.
fn attention(d: u64) -> u64 {
    3 * d * d + 3 * d + linear(d, d)
}

/// The parameter count of `cfg`'s model over `dim`-D vectors (what `Model::param_count` says
/// once it is built), by the layouts `src/models/` documents.
pub fn param_count(cfg: &RunConfig, dim: usize) -> u64 {
    let (dim, h, layers, ctx) = (
        dim as u64,
        cfg.hidden as u64,
        cfg.layers as u64,
        cfg.context as u64,
    );
    let head = linear(h, h) + linear(h, dim);
    match cfg.model {
        ModelKind::Linear => linear(ctx * dim, dim),
        ModelKind::Mlp => {
            linear(ctx * dim, h) + layers.saturating_sub(1) * linear(h, h) + linear(h, dim)
        }
        ModelKind::Lstm => {
            let layer = |inp: u64| 4 * h * inp + 4 * h * h + 8 * h;
            layer(dim) + layers.saturating_sub(1) * layer(h) + head
        }
        ModelKind::Transformer | ModelKind::TransformerInfonce => {
            let ff = cfg.ff as u64;
            let feed_forward = linear(h, ff) + linear(ff, h);
            let per_layer = if cfg.model == ModelKind::Transformer {
                attention(h) + feed_forward + 2 * 2 * h
            } else {
                2 * attention(h) + feed_forward + 3 * 2 * h
            };
            let final_norm = if cfg.model == ModelKind::Transformer {
                0
            } else {
                2 * h
            };
            linear(dim, h) + layers * per_layer + final_norm + head
        }
    }
}

/// The floor of what a run of `cfg` on `rows` sentences of `dim`-D vectors needs.
pub fn estimate(cfg: &RunConfig, dim: usize, rows: usize) -> Estimate {
    let params = param_count(cfg, dim);
    let (b, t, h, layers) = (
        cfg.batch as u64,
        cfg.context as u64,
        cfg.hidden as u64,
        cfg.layers as u64,
    );
    // Floats a batch keeps for the backward pass, per layer.
    let per_layer = match cfg.model {
        // Its output, before the normalisation.
        ModelKind::Linear => b * dim as u64,
        // Pre-activation, activation (and the dropout mask) of each hidden layer.
        ModelKind::Mlp => b * h * 3,
        // Four gates, the cell and the hidden state at every step.
        ModelKind::Lstm => b * t * h * 6,
        // Q, K, V, the attention weights, the feed-forward's two widths, two norms.
        ModelKind::Transformer | ModelKind::TransformerInfonce => {
            b * t * (4 * h + 2 * cfg.ff as u64 + 2 * h) + b * cfg.heads as u64 * t * t
        }
    };
    let input = b * t * dim as u64;
    Estimate {
        params,
        training_state: params * 4 * 5,
        dataset: rows as u64 * dim as u64 * (4 + 2),
        activations: (input
            + if cfg.model == ModelKind::Linear {
                per_layer
            } else {
                layers.max(1) * per_layer
            })
            * 4,
    }
}

/// `Ok` with the estimate when it fits under `limit` bytes; else a message with the figures,
/// the limit (`what` names it) and what to make smaller.
pub fn check(
    cfg: &RunConfig,
    dim: usize,
    rows: usize,
    limit: u64,
    what: &str,
) -> Result<Estimate, String> {
    let e = estimate(cfg, dim, rows);
    if e.total() <= limit {
        return Ok(e);
    }
    Err(format!(
        "this run needs at least {} and {what} has {}: {} parameters take {} as weights, \
         gradients, Adam's two moments and the best epoch's copy, the dataset {}, one batch's \
         activations {}; make hidden, layers{} or batch smaller",
        size(e.total()),
        size(limit),
        crate::base::format::group_digits(e.params),
        size(e.training_state),
        size(e.dataset),
        size(e.activations),
        if cfg.model.is_transformer() {
            ", ff"
        } else {
            ""
        },
    ))
}

/// "5.1 GiB", "320 MiB".
fn size(bytes: u64) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

/// Whether a worker holding `memory_now` bytes can also make the file that saves a run of
/// `params` parameters: the file holds them four times over (weights, best weights, Adam's
/// two moments) and making it takes one more copy of the weights.
pub fn save_fits(memory_now: u64, params: u64, limit: u64) -> Result<(), String> {
    let needs = 5 * 4 * params;
    if memory_now.saturating_add(needs) > limit {
        return Err(format!(
            "this run's state needs {} more beside the {} the worker holds, over its {}",
            size(needs),
            size(memory_now),
            size(limit)
        ));
    }
    Ok(())
}
