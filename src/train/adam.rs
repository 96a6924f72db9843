//! Adam (Kingma & Ba), arranged as `torch.optim.Adam` computes it, with no weight decay.
//!
//! The update runs over plain slices in one pass per parameter instead of a chain of tensor
//! ops, and checks every gradient for NaN/inf before touching any weight, so a blown-up step
//! leaves the model exactly as it was.

use crate::models::Params;
use candle_core::backprop::GradStore;
use candle_core::{Result, Storage, Tensor};

pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Steps taken.
    t: u64,
    /// First and second moment per parameter, in `Params` order.
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

/// Which parameter had a non-finite gradient.
#[derive(Debug)]
pub struct NonFiniteGradient {
    pub param: String,
}

impl Adam {
    pub fn new(lr: f64, beta1: f64, beta2: f64, eps: f64) -> Self {
        Self {
            lr,
            beta1,
            beta2,
            eps,
            t: 0,
            moments: Vec::new(),
        }
    }

    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One update of every parameter that has a gradient. `Ok(Err(..))` when a gradient is not
    /// finite: nothing was changed.
    pub fn step(
        &mut self,
        params: &Params,
        grads: &GradStore,
    ) -> Result<std::result::Result<(), NonFiniteGradient>> {
        let mut all = Vec::with_capacity(params.entries().len());
        for (name, var) in params.entries() {
            let g = match grads.get(var.as_tensor()) {
                Some(g) => with_f32(g, |s| s.to_vec())?,
                None => {
                    all.push(None);
                    continue;
                }
            };
            if !g.iter().all(|x| x.is_finite()) {
                return Ok(Err(NonFiniteGradient {
                    param: name.clone(),
                }));
            }
            all.push(Some(g));
        }
        if self.moments.is_empty() {
            self.moments = params
                .entries()
                .iter()
                .map(|(_, v)| (vec![0f32; v.elem_count()], vec![0f32; v.elem_count()]))
                .collect();
        }
        self.t += 1;
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let bias1 = 1.0 - self.beta1.powi(self.t as i32);
        let bias2_sqrt = (1.0 - self.beta2.powi(self.t as i32)).sqrt() as f32;
        let step_size = (self.lr / bias1) as f32;
        let eps = self.eps as f32;
        for (((_, var), grad), (m, v)) in params.entries().iter().zip(all).zip(&mut self.moments) {
            let Some(grad) = grad else { continue };
            let theta = with_f32(var.as_tensor(), |theta| {
                let mut next = Vec::with_capacity(theta.len());
                for i in 0..theta.len() {
                    let g = grad[i];
                    m[i] = b1 * m[i] + (1.0 - b1) * g;
                    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                    let denom = v[i].sqrt() / bias2_sqrt + eps;
                    next.push(theta[i] - step_size * m[i] / denom);
                }
                next
            })?;
            var.set(&Tensor::from_vec(theta, var.shape(), var.device())?)?;
        }
        Ok(Ok(()))
    }
}

/// Runs `f` on a tensor's f32 values in row-major order without copying when it is contiguous.
pub(crate) fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => {
            let all = cpu.as_slice::<f32>()?;
            let start = layout.start_offset();
            Ok(f(&all[start..start + t.elem_count()]))
        }
        #[allow(unreachable_patterns)]
        _ => candle_core::bail!("expected an f32 tensor on the CPU"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use candle_core::Device;

    #[test]
    fn two_steps_by_hand() {
        let mut params = Params::new(&Device::Cpu);
        let mut rng = Rng::new(0);
        let w = params
            .add("w", &[2], crate::models::params::Init::Ones, &mut rng)
            .unwrap();
        let mut adam = Adam::new(0.1, 0.9, 0.999, 1e-8);
        // loss = sum(w * (3, -2)) -> gradient (3, -2) every step.
        let c = Tensor::from_slice(&[3f32, -2.0], 2, &Device::Cpu).unwrap();
        for _ in 0..2 {
            let loss = (&w * &c).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            adam.step(&params, &grads).unwrap().unwrap();
        }
        // By hand: with a constant gradient g, m_t/(1-b1^t) = g and v_t/(1-b2^t) = g^2, so
        // each step moves by lr * g / (|g| + eps) = ±0.1, up to f32 rounding of the moments.
        let got = params.get("w").unwrap().to_vec1::<f32>().unwrap();
        assert!(
            (got[0] - 0.8).abs() < 1e-5 && (got[1] - 1.2).abs() < 1e-5,
            "{got:?}"
        );
    }

    #[test]
    fn first_step_matches_torch_formula() {
        // One step from w = 0.5 with g = 0.2, lr 1e-3, betas (0.9, 0.999), eps 1e-8:
        // m = 0.02, v = 4e-5; step = 1e-3/0.1 * 0.02 / (sqrt(4e-5)/sqrt(0.001) + 1e-8)
        //   = 0.01 * 0.02 / (0.2 + 1e-8) = 0.001 (to 1e-10).
        let mut params = Params::new(&Device::Cpu);
        let w = params
            .add(
                "w",
                &[1],
                crate::models::params::Init::Ones,
                &mut Rng::new(0),
            )
            .unwrap();
        let loss = (&w * 0.2).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let mut adam = Adam::new(1e-3, 0.9, 0.999, 1e-8);
        adam.step(&params, &grads).unwrap().unwrap();
        let got = params.get("w").unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got - (1.0 - 0.001)).abs() < 1e-7, "{got}");
        assert_eq!(adam.steps(), 1);
    }

    #[test]
    fn nan_gradient_changes_nothing() {
        let mut params = Params::new(&Device::Cpu);
        let w = params
            .add(
                "w",
                &[2],
                crate::models::params::Init::Ones,
                &mut Rng::new(0),
            )
            .unwrap();
        let loss = (&w * f64::NAN).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let mut adam = Adam::new(1e-3, 0.9, 0.999, 1e-8);
        let err = adam.step(&params, &grads).unwrap().unwrap_err();
        assert_eq!(err.param, "w");
        assert_eq!(
            params.get("w").unwrap().to_vec1::<f32>().unwrap(),
            vec![1.0, 1.0]
        );
        assert_eq!(adam.steps(), 0);
    }
}
