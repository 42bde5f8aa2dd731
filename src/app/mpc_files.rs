//! Closed-loop runs as files: a run file of version 2 holds one segment per MPC plan (an `mpc` line, then
//! that plan's snapshots with iterations restarting at 0; docs/run-format.md). The app numbers snapshots
//! across replans, so opening renumbers them ([`renumber_segments`]) and rebuilds where the episode stood;
//! saving an MPC session splits its history back into segments ([`write_segments`]).

use std::sync::Arc;

use crate::plan::mpc::MpcSettings;
use crate::plan::mpc_planner::ClosedLoopView;
use crate::plan::runfile::{MpcSegment, Run, RunFileError, RunWriter};
use crate::plan::Snapshot;

/// Renumbers an MPC run's snapshots across segments (plan j's iterations follow plan j−1's last) and returns
/// the episode's view: plan starts, executed states (the episode's final ones when the file has its
/// `mpc_end` line), verdict. None for open-loop runs (no segments).
pub fn renumber_segments(run: &mut Run) -> Option<ClosedLoopView> {
    if run.segments.is_empty() {
        return None;
    }
    let n = run.snapshots.len();
    let mut plan_starts = Vec::with_capacity(run.segments.len());
    let plan_executed: Vec<usize> = run.segments.iter().map(|(_, seg)| seg.executed).collect();
    let mut offset = 0usize;
    for (k, (first, _)) in run.segments.iter().enumerate() {
        let end = run.segments.get(k + 1).map_or(n, |(i, _)| *i).min(n);
        let first = (*first).min(end);
        plan_starts.push(offset);
        let mut last = None;
        // Saturating: a crafted file's iterations near usize::MAX must not overflow (they only renumber oddly).
        for s in &mut run.snapshots[first..end] {
            last = Some(s.iteration);
            s.iteration = s.iteration.saturating_add(offset);
        }
        offset = offset.saturating_add(last.map_or(0, |l| l.saturating_add(1)));
    }
    let (_, seg) = run.segments.last()?;
    let deadline = run.header.problem.horizon;
    let view = match &run.mpc_result {
        Some(r) => ClosedLoopView {
            step: r.plans.len(),
            plan_starts,
            plan_executed,
            executed_env_states: r.executed_env_states.clone(),
            done: true,
            success_step: r.success_step,
            executed: r.plans.iter().map(|p| p.executed).sum(),
            deadline,
            result: Some(Box::new(r.clone())),
        },
        // An episode cut short (no `mpc_end`): where its last segment started.
        None => ClosedLoopView {
            step: seg.step,
            plan_starts,
            plan_executed,
            executed_env_states: seg.executed_env_states.clone(),
            done: false,
            success_step: None,
            executed: seg.executed,
            deadline,
            result: None,
        },
    };
    Some(view)
}

/// Writes an MPC session's kept snapshots as segments: before plan j's first snapshot an `mpc` line (its
/// step, executed steps, horizon and the executed states so far), then its snapshots with iterations counted
/// from the plan's start, as `plan --mpc --save-run` writes them.
pub fn write_segments(
    w: &mut RunWriter,
    snaps: &[Arc<Snapshot>],
    view: &ClosedLoopView,
    mpc: &MpcSettings,
) -> Result<(), RunFileError> {
    let starts = &view.plan_starts;
    let mut last: Option<Snapshot> = None;
    for (j, &start) in starts.iter().enumerate() {
        let end = starts.get(j + 1).copied().unwrap_or(usize::MAX);
        let executed = view.executed_at(j).min(view.deadline);
        let seg = MpcSegment {
            step: j,
            executed,
            horizon: mpc.window.unwrap_or(view.deadline - executed),
            executed_env_states: view
                .executed_env_states
                .iter()
                .take(executed + 1)
                .cloned()
                .collect(),
        };
        w.begin_segment(last.as_ref(), &seg)?;
        last = None;
        for s in snaps
            .iter()
            .filter(|s| s.iteration >= start && s.iteration < end)
        {
            let mut s = (**s).clone();
            s.iteration -= start;
            w.write_snapshot(&s)?;
            last = Some(s);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::files::save_run;
    use crate::app::testutil::linear_wall_builder;
    use crate::app::worker::RunSpec;
    use crate::env::EnvKind;
    use crate::plan::runfile::read_run;
    use crate::plan::runner::Budget;
    use crate::plan::PlannerKind;

    #[test]
    fn a_saved_mpc_session_has_segments_and_renumbers_back_on_open() {
        let mpc = MpcSettings {
            first: Budget::iters(12),
            replan: Budget::iters(4),
            stop_on_success: false,
            ..MpcSettings::default()
        };
        let spec = RunSpec {
            horizon: 3,
            mpc: Some(mpc),
            ..RunSpec::new(EnvKind::Wall, PlannerKind::Grasp, 2)
        };
        let mut session = (linear_wall_builder())(&spec).unwrap();
        let mut snaps = Vec::new();
        while !session.planner.closed_loop().unwrap().done {
            snaps.push(session.planner.step());
        }
        let view = session.planner.closed_loop().unwrap();
        assert_eq!(view.plan_starts, vec![0, 12, 16]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mpc.jsonl");
        save_run(&path, &session.info, &snaps, Some(&view)).unwrap();

        let mut run = read_run(&path).unwrap();
        assert_eq!(run.header.mpc, spec.mpc);
        assert_eq!(run.segments.len(), 3);
        // In the file each plan's iterations restart at 0 and carry that plan's (shrinking) horizon.
        let (i1, seg1) = &run.segments[1];
        assert_eq!(run.snapshots[*i1].iteration, 0);
        assert_eq!((seg1.step, seg1.executed, seg1.horizon), (1, 1, 2));
        assert_eq!(seg1.executed_env_states, view.executed_env_states[..2]);
        assert_eq!(run.snapshots[*i1].horizon, 2);
        assert!(run.mpc_result.is_some());

        let opened = renumber_segments(&mut run).unwrap();
        assert_eq!(opened.plan_starts, view.plan_starts);
        assert_eq!(opened.executed_env_states, view.executed_env_states);
        assert!(opened.done);
        let iters: Vec<usize> = run.snapshots.iter().map(|s| s.iteration).collect();
        let want: Vec<usize> = snaps.iter().map(|s| s.iteration).collect();
        assert_eq!(iters, want);
        // An open-loop file has no segments.
        run.segments.clear();
        assert!(renumber_segments(&mut run).is_none());
    }
}
