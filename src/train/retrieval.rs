//! Retrieval@k: how often the true next sentence is among the k dataset sentences nearest a
//! prediction (the study's second measure beside the mean cosine).

use crate::models::layers::l2_normalize;

/// Retrieval@k for each `k` in `ks`: the fraction of predictions whose true next sentence
/// (`truth[i]`, a row index) ranks within the top k of all `rows` by cosine to prediction `i`.
/// `rows` must be unit vectors; similarities come from one matrix product per 256 predictions.
pub fn retrieval_at(
    rows: &[f32],
    dim: usize,
    predictions: &[f32],
    truth: &[usize],
    ks: &[usize],
) -> candle_core::Result<Vec<f32>> {
    use candle_core::{Device, Tensor};
    let device = Device::Cpu;
    let n = rows.len() / dim;
    let rows_t = Tensor::from_slice(rows, (n, dim), &device)?;
    let mut hits = vec![0usize; ks.len()];
    for (chunk, truth_chunk) in predictions.chunks(256 * dim).zip(truth.chunks(256)) {
        let p = Tensor::from_slice(chunk, (truth_chunk.len(), dim), &device)?;
        let p = l2_normalize(&p)?;
        let scores = p.matmul(&rows_t.t()?)?.to_vec2::<f32>()?;
        for (row, &t) in scores.iter().zip(truth_chunk) {
            let target = row[t];
            let rank = row.iter().filter(|&&s| s > target).count();
            for (h, &k) in hits.iter_mut().zip(ks) {
                *h += usize::from(rank < k);
            }
        }
    }
    Ok(hits
        .iter()
        .map(|&h| h as f32 / truth.len().max(1) as f32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrieval_by_hand() {
        // The rows are e0 e1 e2 e3. Prediction 0 is closest to row 1 (truth 1: hit@1);
        // prediction 1 is closest to row 0, then row 2 (truth 2: miss@1, hit@2).
        let rows = vec![
            1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ];
        let preds = vec![0.1, 1.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.0];
        assert_eq!(
            retrieval_at(&rows, 4, &preds, &[1, 2], &[1, 2, 10]).unwrap(),
            vec![0.5, 1.0, 1.0]
        );
    }
}
