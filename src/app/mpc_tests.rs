//! MPC mode in a headless Bevy app: the M key restarts the lane as a closed-loop episode, the lane learns
//! each MPC step from the worker, the history is numbered across replans, and the executed trajectory shown
//! grows with the timeline cursor.

use bevy::prelude::*;

use crate::app::lanes::Lanes;
use crate::app::testutil::{headless_app, linear_wall_builder, press};
use crate::app::worker::RunSpec;
use crate::env::EnvKind;
use crate::plan::PlannerKind;

#[test]
fn m_turns_on_a_closed_loop_episode_whose_executed_path_grows() {
    let spec = RunSpec {
        horizon: 3,
        ..RunSpec::new(EnvKind::Wall, PlannerKind::Grasp, 1)
    };
    let mut app = headless_app(linear_wall_builder(), spec);
    app.update();
    assert!(app.world().resource::<Lanes>().lanes[0].spec.mpc.is_none());
    press(&mut app, KeyCode::KeyM);
    let lane = &app.world().resource::<Lanes>().lanes[0];
    assert_eq!(lane.spec.mpc, Some(super::app_mpc_settings()));
    let t0 = std::time::Instant::now();
    loop {
        app.update();
        let lane = &app.world().resource::<Lanes>().lanes[0];
        if lane.mpc.as_ref().is_some_and(|m| m.view.done) && !lane.running {
            break;
        }
        assert!(t0.elapsed().as_secs() < 20, "the episode did not finish");
    }
    let lane = &app.world().resource::<Lanes>().lanes[0];
    let m = lane.mpc.as_ref().unwrap();
    assert_eq!(m.session, lane.info.as_ref().unwrap().id);
    let s = super::app_mpc_settings();
    let (first, replan) = (s.first.max_iters.unwrap(), s.replan.max_iters.unwrap());
    // Plans start where the previous one's budget ended: snapshots are numbered across replans.
    for (j, start) in m.view.plan_starts.iter().enumerate() {
        assert_eq!(*start, if j == 0 { 0 } else { first + (j - 1) * replan });
    }
    assert_eq!(m.view.executed_env_states.len(), m.view.executed + 1);
    assert!(m.view.executed >= 1);
    let newest = lane.history.newest().unwrap();
    let plans = m.view.plan_starts.len();
    assert_eq!(newest, first + (plans - 1) * replan - 1);
    // The executed path shown: the start alone during the first plan, one more state per replan, and the
    // whole episode at its end.
    assert_eq!(lane.mpc_executed_until(0).len(), 1);
    if plans > 1 {
        assert_eq!(lane.mpc_executed_until(first).len(), 2);
        assert_eq!(
            lane.mpc_start_state(first),
            Some(m.view.executed_env_states[1].as_slice())
        );
    }
    assert_eq!(
        lane.mpc_executed_until(newest).len(),
        m.view.executed_env_states.len()
    );
    // M again: back to open loop.
    press(&mut app, KeyCode::KeyM);
    let t0 = std::time::Instant::now();
    while app.world().resource::<Lanes>().lanes[0].mpc.is_some() {
        assert!(t0.elapsed().as_secs() < 10, "open loop did not restart");
        app.update();
    }
    let lane = &app.world().resource::<Lanes>().lanes[0];
    assert!(lane.spec.mpc.is_none());
    assert!(lane.mpc_executed_until(0).is_empty());
}
