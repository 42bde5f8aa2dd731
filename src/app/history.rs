//! The optimization history behind the timeline: every snapshot kept until a memory cap, then older ones
//! thinned evenly (every `stride`-th iteration survives, the stride doubling as needed) while the newest
//! iterations, iteration 0, sync iterations and parameter-change iterations are always kept. Memory therefore
//! stays near the cap however long the optimizer runs; a light per-iteration row of loss terms for the plots is
//! kept alongside with its own (much larger) cap.
//!
//! Plain data with no Bevy dependency, so the thinning rules are unit-tested directly.

use std::sync::Arc;

use crate::plan::{LossTerms, Phase, Snapshot};

/// Memory settings of a [`History`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryConfig {
    /// Byte budget for full snapshots. > 0, default 192 MiB (about 30k Push-T snapshots at H = 50).
    pub cap_bytes: usize,
    /// Newest iterations always kept in full, at most half the budget. ≥ 1, default 1000.
    pub recent: usize,
    /// Maximum plot rows (loss terms per iteration) before they are thinned the same way. ≥ 16, default 200 000.
    pub max_rows: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            cap_bytes: 192 << 20,
            recent: 1000,
            max_rows: 200_000,
        }
    }
}

/// Loss terms of one iteration, for the plots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossRow {
    /// Iteration.
    pub iteration: usize,
    /// The iteration ended with a sync.
    pub sync: bool,
    /// Loss terms.
    pub loss: LossTerms,
    /// Cumulative planner time, seconds.
    pub planner_time_s: f64,
}

/// A parameter change applied from the UI, marked on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamMarker {
    /// First iteration run with the new parameters.
    pub iteration: usize,
    /// What changed, e.g. "σ 0.005 -> 0.02".
    pub what: String,
}

/// Iterations that leave the recent window between two eviction passes.
pub const EVICT_BATCH: usize = 256;

/// Approximate heap size of a snapshot.
pub fn snapshot_bytes(s: &Snapshot) -> usize {
    let floats = s.states.len()
        + s.actions.len()
        + s.predictions.len()
        + s.residuals.len()
        + s.rollout.len();
    floats * std::mem::size_of::<f32>() + std::mem::size_of::<Snapshot>() + 64
}

/// Kept snapshots of one planner run, sorted by iteration.
#[derive(Clone, Debug, Default)]
pub struct History {
    config: HistoryConfig,
    snaps: Vec<Arc<Snapshot>>,
    bytes: usize,
    stride: usize,
    rows: Vec<LossRow>,
    row_stride: usize,
    markers: Vec<ParamMarker>,
    received: usize,
    left_window: usize,
}

impl History {
    /// An empty history with the given memory settings.
    pub fn new(config: HistoryConfig) -> Self {
        History {
            config,
            stride: 1,
            row_stride: 1,
            ..Default::default()
        }
    }

    /// Forgets everything (a new problem).
    pub fn clear(&mut self) {
        *self = History::new(self.config);
    }

    /// Adds the newest snapshot. Snapshots must arrive in increasing iteration order; an older or repeated
    /// iteration (e.g. a diverged planner repeating itself) replaces nothing and is ignored.
    pub fn push(&mut self, snap: Arc<Snapshot>) {
        if self.newest().is_some_and(|newest| snap.iteration <= newest) {
            return;
        }
        let prev_newest = self.newest();
        self.received += 1;
        self.rows.push(LossRow {
            iteration: snap.iteration,
            sync: snap.phase == Phase::Sync,
            loss: snap.loss,
            planner_time_s: snap.planner_time_s,
        });
        let newest = snap.iteration;
        self.bytes += snapshot_bytes(&snap);
        self.snaps.push(snap);
        if let Some(prev) = prev_newest {
            self.evict_leaving(prev, newest);
        }
        if self.bytes > self.config.cap_bytes {
            self.thin();
        }
        if self.rows.len() > self.config.max_rows {
            self.thin_rows();
        }
    }

    /// Adds a snapshot older than the newest (one the worker had to deliver out of order); a repeated
    /// iteration is ignored. Newer snapshots go through [`History::push`].
    pub fn insert(&mut self, snap: Arc<Snapshot>) {
        if self.newest().is_none_or(|newest| snap.iteration > newest) {
            self.push(snap);
            return;
        }
        let idx = self.snaps.partition_point(|s| s.iteration < snap.iteration);
        if self
            .snaps
            .get(idx)
            .is_some_and(|s| s.iteration == snap.iteration)
        {
            return;
        }
        let row = self.rows.partition_point(|r| r.iteration < snap.iteration);
        self.rows.insert(
            row,
            LossRow {
                iteration: snap.iteration,
                sync: snap.phase == Phase::Sync,
                loss: snap.loss,
                planner_time_s: snap.planner_time_s,
            },
        );
        self.received += 1;
        self.bytes += snapshot_bytes(&snap);
        self.snaps.insert(idx, snap);
    }

    /// Records a parameter change taking effect at `iteration`.
    pub fn mark_params(&mut self, iteration: usize, what: String) {
        self.markers.push(ParamMarker { iteration, what });
    }

    /// Parameter-change markers, oldest first.
    pub fn markers(&self) -> &[ParamMarker] {
        &self.markers
    }

    /// Loss rows for the plots, oldest first (every iteration until `max_rows`, then thinned; syncs kept).
    pub fn rows(&self) -> &[LossRow] {
        &self.rows
    }

    /// Kept snapshots, oldest first.
    pub fn snapshots(&self) -> &[Arc<Snapshot>] {
        &self.snaps
    }

    /// Number of kept snapshots.
    pub fn len(&self) -> usize {
        self.snaps.len()
    }

    /// No snapshot yet.
    pub fn is_empty(&self) -> bool {
        self.snaps.is_empty()
    }

    /// Snapshots received in total (kept or thinned away).
    pub fn received(&self) -> usize {
        self.received
    }

    /// Approximate bytes held by kept snapshots.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Current thinning stride of old non-sync iterations (1 = nothing thinned yet).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Oldest kept iteration.
    pub fn first(&self) -> Option<usize> {
        self.snaps.first().map(|s| s.iteration)
    }

    /// Newest iteration.
    pub fn newest(&self) -> Option<usize> {
        self.snaps.last().map(|s| s.iteration)
    }

    /// The newest snapshot.
    pub fn latest(&self) -> Option<&Arc<Snapshot>> {
        self.snaps.last()
    }

    /// The kept snapshot at `iteration`, or the nearest older one (the oldest if `iteration` precedes all).
    pub fn at(&self, iteration: usize) -> Option<&Arc<Snapshot>> {
        let idx = self.snaps.partition_point(|s| s.iteration <= iteration);
        self.snaps.get(idx.saturating_sub(1))
    }

    /// Moves `steps` kept snapshots from `iteration` (negative = back), clamped to the ends; returns the
    /// iteration landed on. In the unthinned region one step is one iteration.
    pub fn step_from(&self, iteration: usize, steps: isize) -> Option<usize> {
        if self.snaps.is_empty() {
            return None;
        }
        let here = self
            .snaps
            .partition_point(|s| s.iteration <= iteration)
            .saturating_sub(1);
        let target = (here as isize + steps).clamp(0, self.snaps.len() as isize - 1) as usize;
        Some(self.snaps[target].iteration)
    }

    /// Iterations of every sync step seen (from the rows, so thinning never hides one).
    pub fn sync_iterations(&self) -> impl Iterator<Item = usize> + '_ {
        self.rows.iter().filter(|r| r.sync).map(|r| r.iteration)
    }

    /// Once thinning has started, snapshots leaving the recent window that are off the stride grid are
    /// dropped in batches of [`EVICT_BATCH`] (one O(n) pass per batch rather than a removal per push), so
    /// old iterations stay evenly spaced at amortized constant cost.
    fn evict_leaving(&mut self, prev_newest: usize, newest: usize) {
        if self.stride <= 1 {
            return;
        }
        self.left_window += newest.saturating_sub(prev_newest);
        if self.left_window < EVICT_BATCH {
            return;
        }
        self.left_window = 0;
        let recent = self.recent_window();
        let stride = self.stride;
        let old = std::mem::take(&mut self.snaps);
        let mut kept = Vec::with_capacity(old.len());
        for s in old {
            if self.protected(&s, newest, recent) || s.iteration.is_multiple_of(stride) {
                kept.push(s);
            } else {
                self.bytes -= snapshot_bytes(&s);
            }
        }
        self.snaps = kept;
    }

    /// Whether a sync iteration lies in (after, upto].
    pub fn sync_between(&self, after: usize, upto: usize) -> bool {
        let lo = self.rows.partition_point(|r| r.iteration <= after);
        let hi = self.rows.partition_point(|r| r.iteration <= upto);
        self.rows[lo..hi].iter().any(|r| r.sync)
    }

    fn recent_window(&self) -> usize {
        let avg = self.bytes / self.snaps.len().max(1);
        let fit = self.config.cap_bytes / 2 / avg.max(1);
        self.config.recent.min(fit).max(1)
    }

    fn protected(&self, snap: &Snapshot, newest: usize, recent: usize) -> bool {
        snap.iteration == 0
            || snap.iteration + recent > newest
            || snap.phase == Phase::Sync
            || self.markers.iter().any(|m| m.iteration == snap.iteration)
    }

    /// Brings kept bytes back under 3/4 of the cap: drops old iterations not on the stride grid, doubling the
    /// stride until enough is freed. If protected snapshots alone exceed the cap (sync every iteration), old
    /// syncs are halved too, evenly by position, so memory stays bounded in every configuration.
    fn thin(&mut self) {
        let Some(newest) = self.newest() else { return };
        let target = self.config.cap_bytes / 4 * 3;
        let recent = self.recent_window();
        loop {
            let stride = self.stride;
            let before = self.snaps.len();
            let old = std::mem::take(&mut self.snaps);
            let mut kept = Vec::with_capacity(old.len());
            for s in old {
                if self.protected(&s, newest, recent) || s.iteration % stride == 0 {
                    kept.push(s);
                } else {
                    self.bytes -= snapshot_bytes(&s);
                }
            }
            self.snaps = kept;
            if self.bytes <= target {
                return;
            }
            let unprotected = self
                .snaps
                .iter()
                .filter(|s| !self.protected(s, newest, recent))
                .count();
            if unprotected == 0 && before == self.snaps.len() {
                self.halve_old_protected(newest, recent);
                return;
            }
            self.stride = self.stride.saturating_mul(2);
        }
    }

    /// Drops every other old sync snapshot (not iteration 0, not the recent window, not marked).
    fn halve_old_protected(&mut self, newest: usize, recent: usize) {
        let mut parity = false;
        let old = std::mem::take(&mut self.snaps);
        let mut kept = Vec::with_capacity(old.len());
        for s in old {
            let must = s.iteration == 0
                || s.iteration + recent > newest
                || self.markers.iter().any(|m| m.iteration == s.iteration);
            parity = !parity;
            if must || parity {
                kept.push(s);
            } else {
                self.bytes -= snapshot_bytes(&s);
            }
        }
        self.snaps = kept;
    }

    /// Halves the old plot rows (keeping syncs, iteration 0 and the newest half).
    fn thin_rows(&mut self) {
        self.row_stride = self.row_stride.saturating_mul(2);
        let stride = self.row_stride;
        let keep_from = self.rows.len() / 2;
        let mut i = 0;
        self.rows.retain(|r| {
            let keep = i >= keep_from || r.sync || r.iteration % stride == 0;
            i += 1;
            keep
        });
        // Syncs alone may still exceed the row budget; then halve everything old evenly.
        if self.rows.len() > self.config.max_rows {
            let keep_from = self.rows.len() / 2;
            let mut i = 0;
            self.rows.retain(|_| {
                let keep = i >= keep_from || i % 2 == 0;
                i += 1;
                keep
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(iteration: usize, sync: bool, horizon: usize) -> Arc<Snapshot> {
        let phase = if sync { Phase::Sync } else { Phase::Stochastic };
        Arc::new(crate::app::testutil::snapshot(iteration, phase, horizon, 2))
    }

    #[test]
    fn keeps_everything_under_the_cap() {
        let mut h = History::new(HistoryConfig::default());
        for i in 0..500 {
            h.push(snap(i, (i + 1) % 50 == 0, 10));
        }
        assert_eq!(h.len(), 500);
        assert_eq!(h.stride(), 1);
        assert_eq!(h.at(123).unwrap().iteration, 123);
        assert_eq!(h.step_from(123, -1), Some(122));
        assert_eq!(h.step_from(0, -5), Some(0));
        assert_eq!(h.step_from(495, 10), Some(499));
    }

    #[test]
    fn memory_stays_bounded_over_100k_iterations_and_syncs_survive() {
        let one = snapshot_bytes(&snap(0, false, 50));
        let cap = one * 1000;
        let mut h = History::new(HistoryConfig {
            cap_bytes: cap,
            recent: 100,
            max_rows: 10_000,
        });
        let mut peak = 0;
        for i in 0..100_000 {
            h.push(snap(i, (i + 1) % 500 == 0 && i > 0, 50));
            peak = peak.max(h.bytes());
        }
        assert!(peak <= cap + one, "peak {peak} > cap {cap}");
        assert_eq!(h.first(), Some(0));
        assert_eq!(h.newest(), Some(99_999));
        // Every sync iteration is still there in full.
        for i in (499..100_000).step_by(500) {
            assert_eq!(h.at(i).unwrap().iteration, i, "sync {i} lost");
        }
        // The newest `recent` iterations are all there.
        for i in 99_900..100_000 {
            assert_eq!(h.at(i).unwrap().iteration, i);
        }
        // Old iterations are thinned evenly: gaps between kept non-sync iterations are the stride.
        let stride = h.stride();
        assert!(stride > 1);
        let old: Vec<usize> = h
            .snapshots()
            .iter()
            .filter(|s| s.phase != Phase::Sync && s.iteration + 100 <= 99_999)
            .map(|s| s.iteration)
            .collect();
        let off_grid = old.iter().filter(|&&i| i % stride != 0).count();
        assert!(
            off_grid <= EVICT_BATCH,
            "{off_grid} old iterations off the stride grid"
        );
        assert!(old.len() > 20, "thinned too hard: {}", old.len());
        // Plot rows are bounded too, and keep every sync.
        assert!(h.rows().len() <= 10_000);
        assert_eq!(h.sync_iterations().count(), 200);
        assert_eq!(h.received(), 100_000);
    }

    #[test]
    fn sync_every_iteration_still_bounded() {
        let one = snapshot_bytes(&snap(0, true, 20));
        let cap = one * 100;
        let mut h = History::new(HistoryConfig {
            cap_bytes: cap,
            recent: 10,
            max_rows: 1000,
        });
        for i in 0..20_000 {
            h.push(snap(i, true, 20));
        }
        assert!(h.bytes() <= cap + one);
        assert!(h.rows().len() <= 1000);
        assert_eq!(h.first(), Some(0));
    }

    #[test]
    fn late_snapshots_are_inserted_in_order() {
        let mut h = History::new(HistoryConfig::default());
        for i in [5, 6, 9] {
            h.push(snap(i, false, 4));
        }
        h.insert(snap(0, false, 4));
        h.insert(snap(7, true, 4));
        h.insert(snap(7, true, 4));
        h.insert(snap(10, false, 4));
        let its: Vec<usize> = h.snapshots().iter().map(|s| s.iteration).collect();
        assert_eq!(its, vec![0, 5, 6, 7, 9, 10]);
        let rows: Vec<usize> = h.rows().iter().map(|r| r.iteration).collect();
        assert_eq!(rows, its);
        assert_eq!(h.first(), Some(0));
        assert!(h.sync_between(6, 7));
    }

    #[test]
    fn marked_iterations_are_kept_and_repeats_ignored() {
        let one = snapshot_bytes(&snap(0, false, 10));
        let mut h = History::new(HistoryConfig {
            cap_bytes: one * 50,
            recent: 5,
            max_rows: 1000,
        });
        for i in 0..1000 {
            if i == 333 {
                h.mark_params(333, "σ 0.005 -> 0.02".into());
            }
            h.push(snap(i, false, 10));
        }
        h.push(snap(999, false, 10));
        assert_eq!(h.received(), 1000);
        assert_eq!(h.at(333).unwrap().iteration, 333);
        assert_eq!(h.markers().len(), 1);
        h.clear();
        assert!(h.is_empty() && h.markers().is_empty());
    }
}
