//! The study's four latent vector models. Each reads `[batch, context, dim]` sentence vectors
//! and predicts the next sentence's vector, L2-normalised.

mod affine;
pub mod kernel;
pub mod layers;
mod linear;
mod lstm;
mod mlp;
pub mod params;
pub(crate) mod product;
mod transformer;

pub use layers::Mode;
pub use params::{NamedTensor, Params, Snapshot};

use crate::base::rng::{Rng, Stream};
use crate::config::{ModelKind, RunConfig, Skip};
use candle_core::{Device, Result, Tensor};
use layers::l2_normalize;

enum Net {
    Linear(linear::LinearMap),
    Mlp(mlp::Mlp),
    Lstm(lstm::Lstm),
    Transformer(transformer::Transformer),
}

/// A model with its parameters, built from a run config.
pub struct Model {
    kind: ModelKind,
    dim: usize,
    context: usize,
    skip: Skip,
    net: Net,
    params: Params,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("kind", &self.kind)
            .field("dim", &self.dim)
            .field("context", &self.context)
            .field("skip", &self.skip)
            .field("params", &self.params.count())
            .finish()
    }
}

impl Model {
    /// Builds the model for `cfg` on vectors of width `dim`, initial weights drawn from the
    /// run seed's init stream (PyTorch's default initialisation).
    pub fn new(cfg: &RunConfig, dim: usize, device: &Device) -> Result<Self> {
        let mut rng = Rng::stream(cfg.seed, Stream::Init);
        let mut params = Params::new(device);
        let net = match cfg.model {
            ModelKind::Mlp => Net::Mlp(mlp::Mlp::new(&mut params, cfg, dim, &mut rng)?),
            ModelKind::Linear => {
                Net::Linear(linear::LinearMap::new(&mut params, cfg, dim, &mut rng)?)
            }
            ModelKind::Lstm => Net::Lstm(lstm::Lstm::new(&mut params, cfg, dim, &mut rng)?),
            ModelKind::Transformer => Net::Transformer(transformer::Transformer::new(
                &mut params,
                cfg,
                dim,
                false,
                &mut rng,
            )?),
            ModelKind::TransformerInfonce => Net::Transformer(transformer::Transformer::new(
                &mut params,
                cfg,
                dim,
                true,
                &mut rng,
            )?),
        };
        if cfg.skip != Skip::None {
            // f starts at zero, so the untrained model predicts exactly its baseline. The
            // weights were drawn all the same, so every other parameter equals `skip=none`'s.
            let output = match cfg.model {
                ModelKind::Mlp => mlp::Mlp::output_name(cfg.layers),
                ModelKind::Linear => linear::NAME.to_string(),
                _ => layers::HEAD_OUTPUT.to_string(),
            };
            params.zero(&format!("{output}.weight"))?;
            params.zero(&format!("{output}.bias"))?;
        }
        Ok(Self {
            kind: cfg.model,
            dim,
            context: cfg.context,
            skip: cfg.skip,
            net,
            params,
        })
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn context(&self) -> usize {
        self.context
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn param_count(&self) -> usize {
        self.params.count()
    }

    /// `x` `[batch, context, dim]` -> unit vectors `[batch, dim]`.
    pub fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let (_, t, d) = x.dims3()?;
        if t != self.context || d != self.dim {
            candle_core::bail!(
                "input has context {t} and dim {d}; the model expects {} and {}",
                self.context,
                self.dim
            );
        }
        let f = match &self.net {
            Net::Linear(m) => m.forward(x)?,
            Net::Mlp(m) => m.forward(x, mode)?,
            Net::Lstm(m) => m.forward(x, mode)?,
            Net::Transformer(m) => m.forward(x, mode)?,
        };
        match self.skip {
            Skip::None => l2_normalize(&f),
            Skip::Last => l2_normalize(&(x.narrow(1, t - 1, 1)?.squeeze(1)? + f)?),
            Skip::Mean => l2_normalize(&(l2_normalize(&x.mean(1)?)? + f)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::D;

    fn study(kind: ModelKind) -> Model {
        Model::new(&RunConfig::for_model(kind), 768, &Device::Cpu).unwrap()
    }

    #[test]
    fn parameter_counts_match_the_study() {
        assert_eq!(study(ModelKind::Mlp).param_count(), 4_720_384);
        assert_eq!(study(ModelKind::Lstm).param_count(), 17_581_824);
        assert_eq!(study(ModelKind::Transformer).param_count(), 13_659_904);
        assert_eq!(
            study(ModelKind::TransformerInfonce).param_count(),
            17_867_520
        );
        // Not the study's: one Linear(5·768 → 768).
        assert_eq!(study(ModelKind::Linear).param_count(), 2_949_888);
        let names: Vec<_> = study(ModelKind::Linear)
            .params()
            .entries()
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(names, ["linear.weight", "linear.bias"]);
    }

    #[test]
    fn pytorch_names_and_shapes() {
        let m = study(ModelKind::Lstm);
        let shape = |n: &str| m.params().get(n).unwrap().dims().to_vec();
        assert_eq!(shape("lstm.weight_ih_l0"), vec![4096, 768]);
        assert_eq!(shape("lstm.weight_hh_l1"), vec![4096, 1024]);
        assert_eq!(shape("lstm.bias_ih_l1"), vec![4096]);
        assert_eq!(shape("head.3.weight"), vec![768, 1024]);
        let t = study(ModelKind::Transformer);
        let shape = |n: &str| t.params().get(n).unwrap().dims().to_vec();
        assert_eq!(
            shape("encoder.layers.0.self_attn.in_proj_weight"),
            vec![1536, 512]
        );
        assert_eq!(shape("encoder.layers.3.norm2.bias"), vec![512]);
        assert_eq!(shape("input_proj.weight"), vec![512, 768]);
        let d = study(ModelKind::TransformerInfonce);
        assert!(d
            .params()
            .get("decoder.layers.2.multihead_attn.out_proj.weight")
            .is_some());
        assert!(d.params().get("decoder.layers.0.norm3.weight").is_some());
        assert!(d.params().get("decoder.norm.bias").is_some());
        let names: Vec<_> = study(ModelKind::Mlp)
            .params()
            .entries()
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(
            names,
            ["net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias"]
        );
    }

    #[test]
    fn pytorch_default_init_bounds() {
        let t = study(ModelKind::Transformer);
        let values = |n: &str| {
            t.params()
                .get(n)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let max_abs = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let xavier = (6.0f32 / (512.0 + 1536.0)).sqrt();
        let w = values("encoder.layers.0.self_attn.in_proj_weight");
        assert!(max_abs(&w) <= xavier && max_abs(&w) > 0.99 * xavier);
        assert!(values("encoder.layers.0.self_attn.in_proj_bias")
            .iter()
            .all(|&x| x == 0.0));
        assert!(values("encoder.layers.0.self_attn.out_proj.bias")
            .iter()
            .all(|&x| x == 0.0));
        assert!(values("encoder.layers.0.norm1.weight")
            .iter()
            .all(|&x| x == 1.0));
        let lin = values("encoder.layers.0.linear2.weight");
        let bound = 1.0 / 2048f32.sqrt();
        assert!(max_abs(&lin) <= bound && max_abs(&lin) > 0.99 * bound);
        let l = study(ModelKind::Lstm);
        let b = l
            .params()
            .get("lstm.bias_hh_l0")
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(max_abs(&b) <= 1.0 / 32.0 && max_abs(&b) > 0.99 / 32.0);
    }

    #[test]
    fn outputs_are_unit_vectors_for_every_model_and_context() {
        for kind in ModelKind::ALL {
            for context in [5, 10] {
                let mut cfg = RunConfig::for_model(kind);
                cfg.context = context;
                cfg.hidden = if kind.is_transformer() { 32 } else { 48 };
                cfg.ff = 64;
                cfg.heads = 4;
                let m = Model::new(&cfg, 24, &Device::Cpu).unwrap();
                let x = Tensor::randn(0f32, 1.0, (3, context, 24), &Device::Cpu).unwrap();
                let y = m.forward(&x, &mut Mode::Eval).unwrap();
                assert_eq!(y.dims(), &[3, 24]);
                let norms = y
                    .sqr()
                    .unwrap()
                    .sum(D::Minus1)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                assert!(
                    norms.iter().all(|n| (n - 1.0).abs() < 1e-5),
                    "{kind:?} {norms:?}"
                );
            }
        }
    }

    #[test]
    fn an_untrained_skip_model_predicts_its_baseline() {
        let x = Tensor::randn(0f32, 1.0, (3, 5, 24), &Device::Cpu).unwrap();
        let rows = |t: &Tensor| t.to_vec2::<f32>().unwrap();
        let last = rows(&l2_normalize(&x.narrow(1, 4, 1).unwrap().squeeze(1).unwrap()).unwrap());
        let mean = rows(&l2_normalize(&x.mean(1).unwrap()).unwrap());
        for kind in ModelKind::ALL {
            for (skip, want) in [(Skip::Last, &last), (Skip::Mean, &mean)] {
                let mut cfg = RunConfig::for_model(kind);
                (cfg.hidden, cfg.ff, cfg.heads, cfg.skip) = (32, 64, 4, skip);
                let m = Model::new(&cfg, 24, &Device::Cpu).unwrap();
                let got = rows(&m.forward(&x, &mut Mode::Eval).unwrap());
                // Bit for bit for `last`; `mean` normalises a unit vector once more, which may
                // move its last bit.
                for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                    assert!((g - w).abs() <= 1e-7, "{kind:?} {skip:?}: {g} vs {w}");
                }
                if skip == Skip::Last {
                    assert_eq!(&got, want, "{kind:?}");
                }
                // The same parameters as the study's model, all but the zeroed output drawn
                // identically.
                cfg.skip = Skip::None;
                let plain = Model::new(&cfg, 24, &Device::Cpu).unwrap();
                assert_eq!(plain.param_count(), m.param_count());
                let differ: Vec<&str> = plain
                    .params()
                    .entries()
                    .iter()
                    .zip(m.params().entries())
                    .filter(|((_, a), (_, b))| {
                        a.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                            != b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                    })
                    .map(|((n, _), _)| n.as_str())
                    .collect();
                let output = match kind {
                    ModelKind::Mlp => "net.3",
                    ModelKind::Linear => "linear",
                    _ => "head.3",
                };
                assert_eq!(
                    differ,
                    [format!("{output}.weight"), format!("{output}.bias")],
                    "{kind:?}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let a = study(ModelKind::Mlp).params().snapshot().unwrap();
        let b = study(ModelKind::Mlp).params().snapshot().unwrap();
        assert!(a == b);
        let mut cfg = RunConfig::for_model(ModelKind::Mlp);
        cfg.seed = 43;
        let c = Model::new(&cfg, 768, &Device::Cpu)
            .unwrap()
            .params()
            .snapshot()
            .unwrap();
        assert!(a != c);
    }
}
