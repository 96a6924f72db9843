//! Float32 matrix products on the thread count `crate::base::threads` gives.
//!
//! They run the same gemm call as candle 0.11's CPU matmul (`cpu_backend::MatMul`, one
//! batch), with two differences. The thread count is ours: candle reads it from the
//! environment, which a browser worker does not have, so it would run every product on one
//! thread there. And the threads split the result into column blocks, one single-threaded
//! gemm call each (`block_width`), instead of gemm's own threading. The results are those of
//! candle's matmul to the bit at any thread count: no sum over `k` is ever split. The crate's
//! own kernel ([`Kernel::Own`]) is here to be measured against gemm's in a worker.

use super::kernel::{self, Operand, Vector};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;

/// Which code computes a float32 product.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kernel {
    /// The crate's own (`super::kernel`), on wasm32's SIMD where the build has it: measured
    /// against gemm's, not used by the models.
    Own,
    /// gemm's, as candle calls it.
    Gemm,
}

impl Kernel {
    /// What the models use: gemm's, everywhere. The own kernel is timed beside it in a
    /// worker's products benchmark and lost or tied on the study's products in Chromium on a
    /// 2-core x86-64 machine: gemm / own 0.86-1.32× with simd128; with relaxed SIMD own / gemm
    /// 0.94-1.20× at one thread but 0.40-0.54× at two (`docs/speed.md`).
    pub const DEFAULT: Kernel = Kernel::Gemm;

    /// The other one: what a benchmark times beside the default.
    pub fn other(self) -> Kernel {
        match self {
            Kernel::Own => Kernel::Gemm,
            Kernel::Gemm => Kernel::Own,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Gemm => "gemm",
            Kernel::Own if cfg!(target_feature = "relaxed-simd") => "own, relaxed SIMD",
            Kernel::Own if cfg!(target_feature = "simd128") => "own, simd128",
            Kernel::Own => "own, portable",
        }
    }
}

/// `a · b` for 2-D float32 tensors of any strides (no gradient: for backward passes and
/// benchmarks).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(a, b, Kernel::DEFAULT)
}

/// [`matmul`] with the kernel named: benchmarks time one against the other.
pub fn matmul_with(a: &Tensor, b: &Tensor, kernel: Kernel) -> Result<Tensor> {
    a.apply_op2_no_bwd(b, &Product(kernel))
}

struct Product(Kernel);

impl CustomOp2 for Product {
    fn name(&self) -> &'static str {
        "product"
    }

    fn cpu_fwd(
        &self,
        a: &CpuStorage,
        al: &Layout,
        b: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, k) = al.shape().dims2()?;
        let (k2, n) = bl.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("product: [{m}, {k}] · [{k2}, {n}]");
        }
        let c = product_with(a, al, b, bl, (m, n, k), self.0)?;
        Ok((c, Shape::from((m, n))))
    }
}

/// `a · b` with `a: [m, k]` and `b: [k, n]` as laid out by `al` and `bl` (a transpose is a
/// layout, not a copy); the result is a contiguous `[m, n]`.
pub fn product(
    a: &CpuStorage,
    al: &Layout,
    b: &CpuStorage,
    bl: &Layout,
    dims: (usize, usize, usize),
) -> Result<CpuStorage> {
    product_with(a, al, b, bl, dims, Kernel::DEFAULT)
}

fn product_with(
    a: &CpuStorage,
    al: &Layout,
    b: &CpuStorage,
    bl: &Layout,
    (m, n, k): (usize, usize, usize),
    kernel: Kernel,
) -> Result<CpuStorage> {
    let (CpuStorage::F32(a), CpuStorage::F32(b)) = (a, b) else {
        // Only the models' float32 products need our thread count; others keep candle's.
        return a.matmul(b, (1, m, n, k), al, bl);
    };
    let (a, b) = (&a[al.start_offset()..], &b[bl.start_offset()..]);
    let ([a_rs, a_cs], [b_rs, b_cs]) = (strides(al)?, strides(bl)?);
    let mut dst = vec![0f32; m * n];
    if m * n == 0 {
        return Ok(CpuStorage::F32(dst));
    }
    let threads = crate::base::threads::get();
    let width = match kernel {
        Kernel::Own => own_block_width(m, n, k, threads),
        Kernel::Gemm => block_width(m, n, k, threads),
    };
    let (a, b, c) = (
        a.as_ptr() as usize,
        b.as_ptr() as usize,
        dst.as_mut_ptr() as usize,
    );
    // Column block `j0..j0 + cols` of the result: `a` times those columns of `b`.
    let block = |j0: usize| {
        let cols = width.min(n - j0);
        // SAFETY: the strides and offsets come from candle layouts of these very buffers,
        // whose shapes are [m, k] and [k, n]; `dst` is a contiguous [m, n], and each block
        // writes its own columns of it.
        unsafe {
            match kernel {
                Kernel::Own => {
                    let operand = |ptr: usize, row_stride, col_stride| Operand {
                        ptr: ptr as *const f32,
                        row_stride,
                        col_stride,
                    };
                    kernel::product::<Vector>(
                        (m, n, k),
                        operand(a, a_rs, a_cs),
                        operand(b, b_rs, b_cs),
                        c as *mut f32,
                        j0..j0 + cols,
                    )
                }
                Kernel::Gemm => gemm::gemm(
                    m,
                    cols,
                    k,
                    (c as *mut f32).add(j0),
                    1,
                    n as isize,
                    false,
                    a as *const f32,
                    a_cs,
                    a_rs,
                    (b as *const f32).offset(j0 as isize * b_cs),
                    b_cs,
                    b_rs,
                    0f32,
                    1f32,
                    false,
                    false,
                    false,
                    Parallelism::None,
                ),
            }
        }
    };
    if width >= n {
        block(0);
    } else {
        // One task a block: a parallel iterator over the block starts gave 1.04-1.17× at two
        // threads natively on the study's products, this 1.7-2.0×.
        rayon::scope(|s| {
            for j0 in (0..n).step_by(width) {
                s.spawn(move |_| block(j0));
            }
        });
    }
    Ok(CpuStorage::F32(dst))
}

/// Below this much work (`m·n·k`) a second thread costs more than it saves (gemm's own
/// threshold), for either kernel.
const MIN_WORK: usize = 48 * 48 * 256;

/// Columns per block for the crate's own kernel: every element's sum is the same whatever the
/// split, so only the work decides; whole register tiles per block.
fn own_block_width(m: usize, n: usize, k: usize, threads: usize) -> usize {
    if threads < 2 || m.saturating_mul(n).saturating_mul(k) < MIN_WORK {
        return n;
    }
    n.div_ceil(threads).next_multiple_of(kernel::TILE_COLUMNS)
}

/// Columns per block when `threads` threads compute an `[m, k] · [k, n]` product: blocks of
/// one single-threaded gemm call each, one a thread (`n` itself: no split).
///
/// A block computes each of its elements exactly as the whole call would: gemm sums over `k`
/// in chunks whose size depends on `k` alone, and the microkernels add in the same order
/// whatever a column's position. Some of gemm's paths depend on the shape, so a split keeps
/// every block on the path of the whole: at least 2 rows and 2 columns (else `gemv`), more
/// than 2 terms (else `gevv`), and more than 64 rows or columns (else its small-size
/// chunking of `k`).
/// gemm's own threading (`Parallelism::Rayon`) would give the same bits too, but it forks
/// and joins twice per chunk of `k`, and at the study's shapes its second thread bought
/// 0.8-1.35× in a worker.
fn block_width(m: usize, n: usize, k: usize, threads: usize) -> usize {
    // Whole SIMD panels per block (gemm's widest microkernel is 4 × 16 lanes wide).
    const ALIGN: usize = 64;
    if threads < 2 || m < 2 || k <= 2 || m.saturating_mul(n).saturating_mul(k) < MIN_WORK {
        return n;
    }
    let width = n.div_ceil(threads).next_multiple_of(ALIGN);
    let narrowest = n - (n - 1) / width * width;
    let same_path = narrowest >= 2 && (m > 64 || narrowest > 64);
    if width < n && same_path {
        width
    } else {
        n
    }
}

/// A 2-D layout's (row, column) strides, checked to stay inside what its shape spans.
fn strides(l: &Layout) -> Result<[isize; 2]> {
    match l.stride() {
        [rs, cs] => Ok([*rs as isize, *cs as isize]),
        s => candle_core::bail!("product: a 2-D layout expected, strides {s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// `a: [130, 300]`, `b: [300, 200]` and `bt: [200, 300]`: big enough for the threading
    /// threshold and gemm's packed paths.
    pub(super) fn operands() -> (Tensor, Tensor, Tensor) {
        let vals = |n: usize, s: f32| (0..n).map(|i| (i as f32 * s).sin()).collect::<Vec<_>>();
        let at = |n, s, shape: (usize, usize)| {
            Tensor::from_vec(vals(n, s), shape, &Device::Cpu).unwrap()
        };
        (
            at(130 * 300, 0.37, (130, 300)),
            at(300 * 200, 0.11, (300, 200)),
            at(200 * 300, 0.23, (200, 300)),
        )
    }

    /// The same bits as candle's matmul, for plain, transposed and offset operands, at 1-8
    /// threads.
    #[test]
    fn equals_candles_matmul_to_the_bit() {
        let (a, b, bt) = operands();
        let cases = [
            (a.clone(), b.clone()),
            (a.clone(), bt.t().unwrap()),
            (bt.clone(), a.t().unwrap()),
            (a.narrow(0, 3, 100).unwrap(), b.narrow(1, 7, 150).unwrap()),
            // Few rows: blocks stay wider than 64 columns, or there is no split.
            (a.narrow(0, 0, 40).unwrap(), bt.t().unwrap()),
            (a.narrow(0, 0, 40).unwrap(), b.narrow(1, 0, 100).unwrap()),
        ];
        for threads in [1, 2, 3, 8] {
            // The first case really splits into blocks at 2 or more threads.
            assert_eq!(block_width(130, 200, 300, threads) < 200, threads > 1);
            crate::base::threads::with(threads, || {
                for (x, y) in &cases {
                    let ours = matmul(x, y).unwrap().to_vec2::<f32>().unwrap();
                    let candle = x.matmul(y).unwrap().to_vec2::<f32>().unwrap();
                    assert!(
                        ours == candle,
                        "differs at {threads} threads: {:?}",
                        x.dims()
                    );
                }
            });
        }
    }
}

/// The own kernel through candle's layouts: the same bits at any thread count, and candle's
/// figures to float tolerance (the order of its additions differs from gemm's).
#[cfg(test)]
mod own_tests {
    use super::tests::operands;
    use super::*;

    #[test]
    fn the_own_kernel_gives_one_answer_at_any_thread_count() {
        let (a, b, bt) = operands();
        let cases = [
            (a.clone(), b.clone()),
            (bt.clone(), a.t().unwrap()),
            (a.narrow(0, 3, 100).unwrap(), b.narrow(1, 7, 150).unwrap()),
        ];
        assert!(
            own_block_width(130, 200, 300, 2) < 200,
            "two threads split the columns"
        );
        for (x, y) in &cases {
            let own = |threads| {
                crate::base::threads::with(threads, || {
                    matmul_with(x, y, Kernel::Own)
                        .unwrap()
                        .to_vec2::<f32>()
                        .unwrap()
                })
            };
            let one = own(1);
            for threads in [2, 3, 8] {
                assert!(own(threads) == one, "{threads} threads: {:?}", x.dims());
            }
            let candle = x.matmul(y).unwrap().to_vec2::<f32>().unwrap();
            let worst = one
                .iter()
                .flatten()
                .zip(candle.iter().flatten())
                .map(|(p, q)| (p - q).abs() / (1.0 + q.abs()))
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "{worst}");
        }
    }
}

#[cfg(test)]
mod block_tests {
    use super::block_width;

    #[test]
    fn blocks_split_the_columns_only_where_the_path_stays() {
        // The study's products at two threads: two blocks of whole 64-column panels.
        assert_eq!(block_width(128, 1024, 3840, 2), 512);
        assert_eq!(block_width(128, 4096, 1024, 2), 2048);
        assert_eq!(block_width(320, 2048, 512, 3), 704);
        assert_eq!(block_width(128, 1024, 3840, 1), 1024, "one thread");
        assert_eq!(block_width(8, 8, 8, 2), 8, "too little work");
        assert_eq!(block_width(4096, 4096, 2, 2), 4096, "gevv for k <= 2");
        assert_eq!(block_width(1, 4096, 4096, 2), 4096, "gemv for one row");
        // 40 rows: a last block of 36 columns would take gemm's small-size path.
        assert_eq!(block_width(40, 100, 4096, 2), 100);
        assert_eq!(block_width(40, 300, 4096, 2), 192);
        // 129 columns: the last block would be one column wide (gemv).
        assert_eq!(block_width(512, 129, 512, 2), 129);
    }
}
