//! The curves plot's y-axis: the range that shows every value, the range a drag zooms to,
//! and the grid's ticks, in plain Rust (the canvas drawing is `web/plot.rs`). With a dozen
//! runs and their seed bands, curves 0.004 apart need a zoom to be told apart.

/// Smallest span a zoom may reach: below it the float32 cosines are noise.
pub const MIN_SPAN: f64 = 0.002;
/// A drag shorter than this many pixels is a click, not a zoom.
pub const MIN_DRAG_PX: f64 = 4.0;

/// A range that holds every finite value, padded and rounded to 0.05, within [-1, 1].
pub fn auto_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let lo = ((lo - 0.02) / 0.05).floor() * 0.05;
    let hi = ((hi + 0.02) / 0.05).ceil() * 0.05;
    (lo.max(-1.0), hi.min(1.0).max(lo + 0.05))
}

/// The value at pixel row `py` of a plot whose rows `top..bottom` show `range` (top is hi).
pub fn value_at(range: (f64, f64), top: f64, bottom: f64, py: f64) -> f64 {
    let (lo, hi) = range;
    let t = ((py - top) / (bottom - top).max(1.0)).clamp(0.0, 1.0);
    hi - t * (hi - lo)
}

/// The range a vertical drag from pixel row `from` to `to` selects on a plot drawn with
/// `range` over rows `top..bottom`; `None` for a drag too short to mean a zoom. Never
/// narrower than [`MIN_SPAN`].
pub fn zoom(range: (f64, f64), top: f64, bottom: f64, from: f64, to: f64) -> Option<(f64, f64)> {
    if (from - to).abs() < MIN_DRAG_PX {
        return None;
    }
    let a = value_at(range, top, bottom, from);
    let b = value_at(range, top, bottom, to);
    let (lo, hi) = (a.min(b), a.max(b));
    let mid = (lo + hi) / 2.0;
    let half = ((hi - lo) / 2.0).max(MIN_SPAN / 2.0);
    Some((mid - half, mid + half))
}

/// Grid lines for a range: about 4 to 12 of them at a round step (0.1, 0.05, 0.02, 0.01, …),
/// each with the decimals its step needs.
pub fn ticks(range: (f64, f64)) -> Vec<(f64, String)> {
    let (lo, hi) = range;
    let span = (hi - lo).max(1e-9);
    let mut step = 0.1;
    for s in [0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005] {
        step = s;
        if span / s >= 4.0 {
            break;
        }
    }
    // At least two decimals (0.40, not 0.4), and as many as the step needs.
    let decimals = if step >= 0.01 {
        2
    } else if step >= 0.001 {
        3
    } else {
        4
    };
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            (v, format!("{v:.decimals$}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_range_holds_every_value() {
        let (lo, hi) = auto_range([0.41, 0.49].into_iter());
        assert!(
            (lo - 0.35).abs() < 1e-12 && (hi - 0.55).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert_eq!(auto_range([f64::NAN].into_iter()), (0.0, 1.0));
        let (lo, hi) = auto_range([-0.99, 0.999].into_iter());
        assert_eq!((lo, hi), (-1.0, 1.0));
    }

    #[test]
    fn a_drag_zooms_to_the_rows_it_covers() {
        // Rows 0..200 show 0.3..0.5: row 50 is 0.45, row 150 is 0.35.
        let r = (0.3, 0.5);
        let z = zoom(r, 0.0, 200.0, 150.0, 50.0).unwrap();
        assert!(
            (z.0 - 0.35).abs() < 1e-12 && (z.1 - 0.45).abs() < 1e-12,
            "{z:?}"
        );
        // Either direction, the same range.
        assert_eq!(zoom(r, 0.0, 200.0, 50.0, 150.0), Some(z));
        // A click is not a zoom; a drag past the plot stops at its edge.
        assert_eq!(zoom(r, 0.0, 200.0, 80.0, 82.0), None);
        let edge = zoom(r, 0.0, 200.0, 100.0, 900.0).unwrap();
        assert!(
            (edge.0 - 0.3).abs() < 1e-12 && (edge.1 - 0.4).abs() < 1e-12,
            "{edge:?}"
        );
        // Zoomed again, never narrower than the floor.
        let tiny = zoom((0.49, 0.4905), 0.0, 200.0, 0.0, 10.0).unwrap();
        assert!((tiny.1 - tiny.0 - MIN_SPAN).abs() < 1e-12, "{tiny:?}");
    }

    #[test]
    fn ticks_stay_round_and_few_at_any_zoom() {
        let t = ticks((0.35, 0.55));
        assert_eq!(
            t.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
            ["0.35", "0.40", "0.45", "0.50", "0.55"]
        );
        // Curves 0.004 apart, zoomed to 0.488..0.496: ticks every 0.002 with three decimals.
        let t = ticks((0.488, 0.496));
        assert_eq!(t.len(), 5, "{t:?}");
        assert_eq!(t[1].1, "0.490");
        for range in [(-1.0, 1.0), (0.4, 0.41), (0.4901, 0.4921)] {
            let n = ticks(range).len();
            assert!((3..=21).contains(&n), "{range:?}: {n} ticks");
        }
    }
}
