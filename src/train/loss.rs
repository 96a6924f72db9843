//! The study's losses.

use candle_core::{Result, Tensor, D};

/// Per-row cosine similarity of `[b, d]` tensors (`F.cosine_similarity`, eps 1e-8).
pub fn cosine_rows(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    let dot = (pred * target)?.sum(D::Minus1)?;
    let np = pred.sqr()?.sum(D::Minus1)?.sqrt()?.maximum(1e-8)?;
    let nt = target.sqr()?.sum(D::Minus1)?.sqrt()?.maximum(1e-8)?;
    dot / (np * nt)?
}

/// 1 - cosine, averaged over the batch.
pub fn cosine_loss(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    cosine_rows(pred, target)?.mean_all()?.affine(-1.0, 1.0)
}

/// InfoNCE with in-batch negatives: row i's positive is target i, every other target in the
/// batch is a negative; cross-entropy over cosine similarities divided by `temperature`.
pub fn infonce_loss(pred: &Tensor, target: &Tensor, temperature: f64) -> Result<Tensor> {
    let p = crate::models::layers::l2_normalize(pred)?;
    let t = crate::models::layers::l2_normalize(target)?;
    let logits = (p.matmul(&t.t()?)? / temperature)?;
    let b = pred.dim(0)?;
    let labels = Tensor::arange(0u32, b as u32, pred.device())?;
    candle_nn::loss::cross_entropy(&logits, &labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32], rows: usize) -> Tensor {
        Tensor::from_slice(v, (rows, v.len() / rows), &Device::Cpu).unwrap()
    }

    #[test]
    fn cosine_loss_by_hand() {
        // cos((1,0),(1,1)) = 1/sqrt2; cos((0,2),(0,-1)) = -1. Loss = 1 - (0.70710678 - 1)/2.
        let loss =
            cosine_loss(&t(&[1.0, 0.0, 0.0, 2.0], 2), &t(&[1.0, 1.0, 0.0, -1.0], 2)).unwrap();
        let expected = 1.0 - (std::f32::consts::FRAC_1_SQRT_2 - 1.0) / 2.0;
        assert!((loss.to_scalar::<f32>().unwrap() - expected).abs() < 1e-6);
    }

    #[test]
    fn infonce_by_hand() {
        // p = [(1,0), (0,1)], t = [(1,0), (1,0)], tau = 0.5:
        // logits [[2, 2], [0, 0]] -> row 0: -log(e^2/(2e^2)) = ln 2; row 1: -log(1/2) = ln 2.
        let loss = infonce_loss(
            &t(&[1.0, 0.0, 0.0, 1.0], 2),
            &t(&[1.0, 0.0, 1.0, 0.0], 2),
            0.5,
        )
        .unwrap();
        assert!((loss.to_scalar::<f32>().unwrap() - 2f32.ln()).abs() < 1e-6);
        // p = t = [(1,0),(0,1)], tau = 1: logits [[1,0],[0,1]]: -log(e/(e+1)) = ln(1 + 1/e).
        let loss = infonce_loss(
            &t(&[1.0, 0.0, 0.0, 1.0], 2),
            &t(&[3.0, 0.0, 0.0, 2.0], 2),
            1.0,
        )
        .unwrap();
        let expected = (1.0 + (-1f32).exp()).ln();
        assert!((loss.to_scalar::<f32>().unwrap() - expected).abs() < 1e-6);
    }

    #[test]
    fn cosine_loss_gradient_by_hand() {
        // d/dp (1 - cos(p, t)) for p = (1, 0), t = (0, 1): -(t/|t| - cos * p/|p|)/|p| = (0, -1).
        let p = candle_core::Var::from_tensor(&t(&[1.0, 0.0], 1)).unwrap();
        let loss = cosine_loss(p.as_tensor(), &t(&[0.0, 1.0], 1)).unwrap();
        let g = loss.backward().unwrap();
        let grad = g.get(p.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        assert!(
            (grad[0][0]).abs() < 1e-6 && (grad[0][1] + 1.0).abs() < 1e-6,
            "{grad:?}"
        );
    }
}
