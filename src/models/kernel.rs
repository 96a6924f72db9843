//! The crate's own float32 matrix product for wasm32's 128-bit SIMD: packed panels of both
//! operands and a register tile of `MR` rows × `4·NV` columns, as BLIS does it.
//!
//! Written to beat gemm's simd128 kernel in a worker; measured beside it there (the products
//! benchmark times both, `models::product::Kernel`) it did not, so the models keep gemm and
//! this stays as the measured alternative, and its tile alone as the measured limit
//! ([`tile_rate`]; `docs/speed.md`). The tile is small because V8 gives a function 15 vector
//! registers on x86-64: 3 × 3 accumulators, three of `B` and one of `A` fit.
//!
//! Every element is one sum over `k` in order, `c = c + a·b` from zero, whatever the tile,
//! the blocking or the columns a thread takes: the same bits at any thread count, and with
//! [`Portable`] (and with plain simd128) the bits of the naive loop, which the tests check
//! natively. Relaxed SIMD fuses the multiply and add where the machine has FMA, so its bits are
//! the machine's; the thread count still changes nothing.

/// Four float32 lanes: what the microkernel needs of a vector.
pub trait Lanes: Copy {
    fn zero() -> Self;
    /// # Safety
    /// `p..p + 4` is readable.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p` is readable.
    unsafe fn load_splat(p: *const f32) -> Self;
    /// `self + a·b` lane by lane.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// # Safety
    /// `p..p + 4` is writable.
    unsafe fn store(self, p: *mut f32);
}

/// Plain arrays: the kernel's logic on any machine, with the bits of plain simd128.
#[derive(Clone, Copy)]
pub struct Portable([f32; 4]);

impl Lanes for Portable {
    fn zero() -> Self {
        Portable([0.0; 4])
    }
    unsafe fn load(p: *const f32) -> Self {
        Portable(std::ptr::read_unaligned(p as *const [f32; 4]))
    }
    unsafe fn load_splat(p: *const f32) -> Self {
        Portable([*p; 4])
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
    }
    unsafe fn store(self, p: *mut f32) {
        std::ptr::write_unaligned(p as *mut [f32; 4], self.0)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use super::Lanes;
    use core::arch::wasm32::*;

    /// simd128: a separate multiply and add, each rounded.
    #[derive(Clone, Copy)]
    pub struct Simd128(v128);

    impl Lanes for Simd128 {
        #[inline(always)]
        fn zero() -> Self {
            Simd128(f32x4_splat(0.0))
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Simd128(v128_load(p as *const v128))
        }
        #[inline(always)]
        unsafe fn load_splat(p: *const f32) -> Self {
            Simd128(v128_load32_splat(p as *const u32))
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            {
                Simd128(f32x4_relaxed_madd(a.0, b.0, self.0))
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            {
                Simd128(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
            }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
    }
}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::Simd128;

/// The lanes the models' products run on: simd128 where the build has it.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type Vector = Simd128;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type Vector = Portable;

/// Terms of the sum packed at a time: a `B` micro-panel (`KC × 12` floats, 12 KiB) stays in
/// the first-level cache while every `A` micro-panel of the row block passes it.
const KC: usize = 256;
/// Rows packed at a time: the row block of `A` (`MC × KC`, 96 KiB) stays in the second level.
const MC: usize = 96;
/// The register tile: `MR` rows × `NV` vectors of 4 columns.
const MR: usize = 3;
const NV: usize = 3;
const NR: usize = 4 * NV;
/// Columns of the register tile: a thread's share of columns is a multiple of it.
pub const TILE_COLUMNS: usize = NR;

/// A read-only matrix: its first element and its row and column strides (in elements).
#[derive(Clone, Copy)]
pub struct Operand {
    pub ptr: *const f32,
    pub row_stride: isize,
    pub col_stride: isize,
}

impl Operand {
    /// # Safety
    /// `(i, j)` is inside the matrix.
    unsafe fn at(&self, i: usize, j: usize) -> f32 {
        *self
            .ptr
            .offset(i as isize * self.row_stride + j as isize * self.col_stride)
    }
}

/// Columns `cols` of `c = a · b`, with `a: [m, k]`, `b: [k, n]`, `c` a row-major `[m, n]` (row
/// stride `n`) whose other columns are left alone.
///
/// # Safety
/// `a` and `b` span `[m, k]` and `[k, n]` as their strides say; `c` is writable for `m × n`
/// elements and nothing else writes columns `cols` of it meanwhile.
pub unsafe fn product<L: Lanes>(
    (m, n, k): (usize, usize, usize),
    a: Operand,
    b: Operand,
    c: *mut f32,
    cols: std::ops::Range<usize>,
) {
    let width = cols.len();
    if m == 0 || width == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m {
            std::ptr::write_bytes(c.add(i * n + cols.start), 0, width);
        }
        return;
    }
    let panels = width.div_ceil(NR);
    let mut packed_b = vec![0f32; KC.min(k) * NR * panels];
    let mut packed_a = vec![0f32; KC.min(k) * MC.min(m).next_multiple_of(MR)];
    for p0 in (0..k).step_by(KC) {
        let kc = KC.min(k - p0);
        // B's rows p0.. as panels of NR columns, row after row; the last padded with zeros.
        for (panel, dst) in packed_b[..panels * kc * NR]
            .chunks_exact_mut(kc * NR)
            .enumerate()
        {
            let j0 = cols.start + panel * NR;
            let real = NR.min(cols.end - j0);
            for (p, row) in dst.chunks_exact_mut(NR).enumerate() {
                for (q, x) in row.iter_mut().enumerate() {
                    *x = if q < real { b.at(p0 + p, j0 + q) } else { 0.0 };
                }
            }
        }
        for i0 in (0..m).step_by(MC) {
            let mc = MC.min(m - i0);
            let strips = mc.div_ceil(MR);
            // A's rows i0.. as strips of MR rows, column after column; padded with zeros.
            for (strip, dst) in packed_a[..strips * kc * MR]
                .chunks_exact_mut(kc * MR)
                .enumerate()
            {
                let r0 = i0 + strip * MR;
                let real = MR.min(i0 + mc - r0);
                for (p, column) in dst.chunks_exact_mut(MR).enumerate() {
                    for (r, x) in column.iter_mut().enumerate() {
                        *x = if r < real { a.at(r0 + r, p0 + p) } else { 0.0 };
                    }
                }
            }
            for panel in 0..panels {
                let j0 = cols.start + panel * NR;
                let b_panel = packed_b.as_ptr().add(panel * kc * NR);
                for strip in 0..strips {
                    let r0 = i0 + strip * MR;
                    tile::<L>(
                        kc,
                        packed_a.as_ptr().add(strip * kc * MR),
                        b_panel,
                        c.add(r0 * n + j0),
                        n,
                        (MR.min(m - r0), NR.min(cols.end - j0)),
                        p0 == 0,
                    );
                }
            }
        }
    }
}

/// GFLOP/s of the register tile alone: `reps` passes of `KC` terms over packed panels that
/// stay in the first-level cache, nothing packed and nothing else read. What these lanes'
/// multiply-and-add sustain on this machine: the limit a whole product can approach.
pub fn tile_rate<L: Lanes>(clock: impl Fn() -> f64, reps: usize) -> f64 {
    // Products of 0.5 and 0.25 summed 256 times: no denormals, no overflow.
    let (a, b) = (vec![0.5f32; KC * MR], vec![0.25f32; KC * NR]);
    let mut c = [0f32; MR * NR];
    let t = clock();
    for _ in 0..reps {
        // SAFETY: `a`, `b` and `c` are a whole tile's packed panels and result.
        unsafe {
            tile::<L>(
                KC,
                a.as_ptr(),
                b.as_ptr(),
                c.as_mut_ptr(),
                NR,
                (MR, NR),
                true,
            )
        };
        std::hint::black_box(&mut c);
    }
    let seconds = (clock() - t).max(1e-12);
    2.0 * (MR * NR * KC * reps) as f64 / seconds / 1e9
}

/// One term of the sum for every element of a tile: a row of packed `b` times a column of
/// packed `a`.
#[inline(always)]
unsafe fn step<L: Lanes>(acc: &mut [[L; NV]; MR], a: *const f32, b: *const f32) {
    let mut bv = [L::zero(); NV];
    for (v, x) in bv.iter_mut().enumerate() {
        *x = L::load(b.add(4 * v));
    }
    for (i, row) in acc.iter_mut().enumerate() {
        let av = L::load_splat(a.add(i));
        for (x, bv) in row.iter_mut().zip(bv) {
            *x = x.mul_add(av, bv);
        }
    }
}

/// One `MR × NR` tile of `c` (`rows × columns` of it real): from zero when `first`, else
/// going on from what `c` holds, plus `kc` terms of packed `a` and `b`. A function of its own:
/// inlined into the packing loops, V8's register allocator kept the accumulators on the stack.
#[inline(never)]
unsafe fn tile<L: Lanes>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    (rows, columns): (usize, usize),
    first: bool,
) {
    let mut acc = [[L::zero(); NV]; MR];
    // A tile over the edge goes through a full-size copy.
    let mut edge = [0f32; MR * NR];
    let whole = rows == MR && columns == NR;
    let (at, stride) = if whole {
        (c, ldc)
    } else {
        (edge.as_mut_ptr(), NR)
    };
    if !first {
        if !whole {
            for i in 0..rows {
                std::ptr::copy_nonoverlapping(c.add(i * ldc), at.add(i * NR), columns);
            }
        }
        for (i, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                *x = L::load(at.add(i * stride + 4 * v));
            }
        }
    }
    // Four terms a turn: V8 checks for interrupts at every loop back edge.
    let mut p = 0;
    while p + 4 <= kc {
        for q in p..p + 4 {
            step(&mut acc, a.add(q * MR), b.add(q * NR));
        }
        p += 4;
    }
    for q in p..kc {
        step(&mut acc, a.add(q * MR), b.add(q * NR));
    }
    for (i, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            x.store(at.add(i * stride + 4 * v));
        }
    }
    if !whole {
        for i in 0..rows {
            std::ptr::copy_nonoverlapping(at.add(i * NR), c.add(i * ldc), columns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, s: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * s).sin()).collect()
    }

    /// The naive loop: each element's terms added in order from zero, each rounded.
    fn naive(m: usize, n: usize, k: usize, a: Operand, b: Operand) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f32;
                for p in 0..k {
                    s += unsafe { a.at(i, p) * b.at(p, j) };
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    fn row_major(v: &[f32], cols: usize) -> Operand {
        Operand {
            ptr: v.as_ptr(),
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    fn col_major(v: &[f32], rows: usize) -> Operand {
        Operand {
            ptr: v.as_ptr(),
            row_stride: 1,
            col_stride: rows as isize,
        }
    }

    #[test]
    fn equals_the_naive_loop_to_the_bit_for_any_shape_layout_and_column_split() {
        // Shapes over every edge: fewer rows than a tile, a row block and a half, k over two
        // packs, columns not a multiple of the tile's.
        for (m, n, k) in [
            (1, 1, 1),
            (2, 5, 3),
            (3, 12, 256),
            (7, 13, 257),
            (97, 25, 300),
            (130, 40, 600),
        ] {
            let (av, bv) = (values(m * k, 0.37), values(k * n, 0.11));
            for (a, b) in [
                (row_major(&av, k), row_major(&bv, n)),
                (col_major(&av, m), col_major(&bv, k)),
            ] {
                let want = naive(m, n, k, a, b);
                for split in [n, n.div_ceil(2), 5, 1] {
                    let mut c = vec![f32::NAN; m * n];
                    for j0 in (0..n).step_by(split) {
                        let cols = j0..(j0 + split).min(n);
                        unsafe { product::<Portable>((m, n, k), a, b, c.as_mut_ptr(), cols) };
                    }
                    assert!(
                        c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "[{m}, {k}] · [{k}, {n}] in blocks of {split} columns"
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_sum_is_zero_and_other_columns_are_untouched() {
        let mut c = vec![7f32; 6];
        let none = Operand {
            ptr: [].as_ptr(),
            row_stride: 0,
            col_stride: 1,
        };
        unsafe { product::<Portable>((2, 3, 0), none, none, c.as_mut_ptr(), 1..3) };
        assert_eq!(c, [7.0, 0.0, 0.0, 7.0, 0.0, 0.0]);
    }

    #[test]
    fn the_tile_rate_counts_a_tiles_flops_over_the_clock() {
        let ticks = std::cell::Cell::new(0.0);
        // One second between the two readings.
        let clock = || {
            ticks.set(ticks.get() + 1.0);
            ticks.get()
        };
        let flops = 2.0 * (MR * NR * KC * 1000) as f64;
        assert_eq!(tile_rate::<Portable>(clock, 1000), flops / 1e9);
    }
}
