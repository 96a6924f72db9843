//! The spread of a figure over the seeds of a repeated run: is a difference between two runs
//! bigger than seed noise?

/// Mean, smallest and largest of one figure over a run's seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// How many seeds.
    pub n: usize,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        Some(Self {
            mean: values.iter().sum::<f64>() / n as f64,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n,
        })
    }

    /// Half the range: what "mean ± spread" prints.
    pub fn half_range(&self) -> f64 {
        (self.max - self.min) / 2.0
    }

    /// Whether two runs' ranges over their seeds meet, where at least one of them has more
    /// than one seed (with one seed each there is no noise to compare against).
    pub fn within_noise(&self, other: &Spread) -> bool {
        (self.n > 1 || other.n > 1) && self.min <= other.max && other.min <= self.max
    }
}

/// Per epoch, the spread over seeds of one curve (e.g. validation cosine), for the epochs
/// every seed has reached.
pub fn band(curves: &[Vec<f64>]) -> Vec<Spread> {
    let len = curves.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .filter_map(|e| Spread::of(&curves.iter().map(|c| c[e]).collect::<Vec<_>>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_by_hand() {
        let s = Spread::of(&[0.40, 0.43, 0.41]).unwrap();
        assert!((s.mean - 0.41333333333333333).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.n), (0.40, 0.43, 3));
        assert!((s.half_range() - 0.015).abs() < 1e-12);
        assert!(Spread::of(&[]).is_none());
    }

    #[test]
    fn noise_needs_seeds_and_overlap() {
        let a = Spread::of(&[0.40, 0.43]).unwrap();
        let b = Spread::of(&[0.42, 0.44]).unwrap();
        let c = Spread::of(&[0.44, 0.45]).unwrap();
        assert!(a.within_noise(&b) && b.within_noise(&a));
        assert!(!a.within_noise(&c));
        // One seed each: equal figures say nothing about noise.
        let one = Spread::of(&[0.42]).unwrap();
        assert!(!one.within_noise(&one));
        assert!(a.within_noise(&one));
    }

    #[test]
    fn band_stops_where_the_shortest_seed_is() {
        let b = band(&[vec![0.1, 0.2, 0.3], vec![0.3, 0.4]]);
        assert_eq!(b.len(), 2);
        assert!((b[0].mean - 0.2).abs() < 1e-12 && b[1].min == 0.2 && b[1].max == 0.4);
        assert!(band(&[]).is_empty());
    }
}
