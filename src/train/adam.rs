//! Adam (Kingma & Ba), arranged as `torch.optim.Adam` computes it, with no weight decay.
//!
//! The update runs in one pass per parameter over the weights' own storage (a candle in-place
//! op) instead of a chain of tensor ops, and checks every gradient for NaN/inf before touching
//! any weight, so a blown-up step leaves the model exactly as it was.

use crate::models::Params;
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Storage, Tensor};
use std::cell::RefCell;

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

    /// First and second moment of each parameter, in `Params` order; empty before the first
    /// step.
    pub fn moments(&self) -> &[(Vec<f32>, Vec<f32>)] {
        &self.moments
    }

    /// Continues from a saved step count and moments (as [`Adam::steps`] and
    /// [`Adam::moments`] gave them), so the next step is the one the saved run would take.
    pub fn restore(&mut self, steps: u64, moments: Vec<(Vec<f32>, Vec<f32>)>) {
        self.t = steps;
        self.moments = moments;
    }

    /// One update of every parameter that has a gradient. `Ok(Err(..))` when a gradient is not
    /// finite: nothing was changed.
    pub fn step(
        &mut self,
        params: &Params,
        grads: &GradStore,
    ) -> Result<std::result::Result<(), NonFiniteGradient>> {
        // Every gradient is checked before any weight moves, reading them where they lie.
        let mut all = Vec::with_capacity(params.entries().len());
        for (name, var) in params.entries() {
            let Some(g) = grads.get(var.as_tensor()) else {
                all.push(None);
                continue;
            };
            let g = g.contiguous()?;
            if !with_f32(&g, |s| s.iter().all(|x| x.is_finite()))? {
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
        let bias1 = 1.0 - self.beta1.powi(self.t as i32);
        let bias2_sqrt = (1.0 - self.beta2.powi(self.t as i32)).sqrt() as f32;
        for (((_, var), grad), (m, v)) in params.entries().iter().zip(all).zip(&mut self.moments) {
            let Some(grad) = grad else { continue };
            let update = Update {
                k: Coefficients {
                    beta1: self.beta1 as f32,
                    beta2: self.beta2 as f32,
                    step_size: (self.lr / bias1) as f32,
                    bias2_sqrt,
                    eps: self.eps as f32,
                },
                moments: RefCell::new((m, v)),
            };
            // In place: no copy of the gradient or of the weights, no temporary tensors.
            var.as_tensor().inplace_op2(&grad, &update)?;
        }
        Ok(Ok(()))
    }
}

/// One parameter's Adam update, applied to the weights' storage by candle's in-place op.
struct Update<'a> {
    k: Coefficients,
    /// First and second moments; `cpu_fwd` takes `&self`, so they sit in a `RefCell`.
    moments: RefCell<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "adam-update"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let (Some((t0, t1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("adam: weights and gradient must be contiguous");
        };
        let (CpuStorage::F32(theta), CpuStorage::F32(grad)) = (s1, s2) else {
            candle_core::bail!("adam: weights and gradient must be f32");
        };
        let (theta, grad) = (&mut theta[t0..t1], &grad[g0..g1]);
        let mut moments = self.moments.borrow_mut();
        let (m, v) = &mut *moments;
        if theta.len() != grad.len() || m.len() != grad.len() || v.len() != grad.len() {
            candle_core::bail!("adam: weights, gradient and moments differ in size");
        }
        // Each element's update is its own, so the products' threads share the big parameters
        // in contiguous pieces with the same bits as one pass (the MLP's Adam was a sixth of
        // its step at two threads, all of it on one).
        let piece = piece_len(theta.len(), crate::base::threads::get());
        let k = self.k;
        if piece >= theta.len() {
            k.update(theta, grad, m, v);
        } else {
            rayon::scope(|s| {
                let pieces = theta
                    .chunks_mut(piece)
                    .zip(grad.chunks(piece))
                    .zip(m.chunks_mut(piece))
                    .zip(v.chunks_mut(piece));
                for (((theta, grad), m), v) in pieces {
                    s.spawn(move |_| k.update(theta, grad, m, v));
                }
            });
        }
        Ok(())
    }
}

/// Parameters below twice this many elements are updated in one pass: a task costs more.
const MIN_PIECE: usize = 1 << 15;

/// The length of the contiguous pieces a parameter of `len` elements is updated in, on
/// `threads` threads (`len` itself: one pass).
fn piece_len(len: usize, threads: usize) -> usize {
    if threads > 1 && len >= 2 * MIN_PIECE {
        len.div_ceil(threads).max(MIN_PIECE)
    } else {
        len
    }
}

/// One step's Adam coefficients.
#[derive(Clone, Copy)]
struct Coefficients {
    beta1: f32,
    beta2: f32,
    step_size: f32,
    bias2_sqrt: f32,
    eps: f32,
}

impl Coefficients {
    fn update(&self, theta: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32]) {
        let (b1, b2) = (self.beta1, self.beta2);
        // torch.optim.Adam's order of operations (single-tensor path), so figures agree with
        // PyTorch to f32 rounding.
        for (((p, &g), m), v) in theta
            .iter_mut()
            .zip(grad)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let denom = v.sqrt() / self.bias2_sqrt + self.eps;
            *p -= self.step_size * *m / denom;
        }
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
    use crate::base::rng::Rng;
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

    /// A parameter big enough to be split among threads moves to the same bits as in one pass.
    #[test]
    fn threads_split_a_parameter_with_the_same_bits() {
        let n = 5 * MIN_PIECE + 123;
        // The parameter really is split at 2 and 3 threads (else the test compares one pass).
        assert!(piece_len(n, 2) < n && piece_len(n, 3) < piece_len(n, 2));
        let run = |threads: usize| {
            crate::base::threads::with(threads, || {
                let mut params = Params::new(&Device::Cpu);
                let w = params
                    .add(
                        "w",
                        &[n],
                        crate::models::params::Init::Ones,
                        &mut Rng::new(0),
                    )
                    .unwrap();
                let c: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
                let c = Tensor::from_vec(c, n, &Device::Cpu).unwrap();
                let mut adam = Adam::new(1e-3, 0.9, 0.999, 1e-8);
                for _ in 0..3 {
                    let loss = (&w * &w).unwrap().mul(&c).unwrap().sum_all().unwrap();
                    adam.step(&params, &loss.backward().unwrap())
                        .unwrap()
                        .unwrap();
                }
                (w.to_vec1::<f32>().unwrap(), adam.moments().to_vec())
            })
        };
        let one = run(1);
        assert!(one == run(3), "3 threads differ from 1");
        assert!(one == run(2), "2 threads differ from 1");
    }
}
