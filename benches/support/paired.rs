//! Ratios of two figures measured back to back, round after round: on a noisy VM a figure moves
//! ±15% between runs, so two figures measured seconds apart compare badly, while rounds that
//! alternate them share the conditions.

/// The medians and the spread of `rounds` paired measurements.
pub struct Paired {
    pub rounds: usize,
    /// The median of the rounds' `a / b`.
    pub ratio: f64,
    pub min_ratio: f64,
    pub max_ratio: f64,
    pub median_a: f64,
    pub median_b: f64,
}

/// Runs `a` then `b`, `rounds` times (after one warm-up of each), and pairs their figures.
pub fn paired(rounds: usize, mut a: impl FnMut() -> f64, mut b: impl FnMut() -> f64) -> Paired {
    a();
    b();
    let figures: Vec<(f64, f64)> = (0..rounds).map(|_| (a(), b())).collect();
    let sorted = |values: &mut dyn Iterator<Item = f64>| {
        let mut values: Vec<f64> = values.collect();
        values.sort_by(f64::total_cmp);
        values
    };
    let ratios = sorted(&mut figures.iter().map(|(a, b)| a / b));
    Paired {
        rounds,
        ratio: ratios[rounds / 2],
        min_ratio: ratios[0],
        max_ratio: ratios[rounds - 1],
        median_a: sorted(&mut figures.iter().map(|f| f.0))[rounds / 2],
        median_b: sorted(&mut figures.iter().map(|f| f.1))[rounds / 2],
    }
}

impl std::fmt::Display for Paired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2}x (median of {} paired rounds; ratios {:.2}x to {:.2}x)",
            self.ratio, self.rounds, self.min_ratio, self.max_ratio
        )
    }
}
