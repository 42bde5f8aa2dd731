//! The rapier2d world behind Push-T (spec §C.1): four walls, the kinematic agent disc and the dynamic T block, in px
//! with y down and zero gravity, advanced in substeps of 0.01 s.
//!
//! Choices made to match pymunk/Chipmunk (each is documented where it is made):
//! - **Quasi-static block.** Chipmunk's `space.damping = 0` multiplies a dynamic body's velocity by 0^dt = 0 before
//!   every solve, so the block moves only while pushed. We do the same thing literally: the block's linear and
//!   angular velocity are set to zero before every substep, and the contact solve alone gives it velocity.
//! - **Mass properties set explicitly**: mass 1, moment 3000 px² about the centre of gravity (0, 45) local (the
//!   original's un-area-weighted centroid and its doubled bar moment); the block's colliders have density 0.
//! - **Frictionless, inelastic contacts** (Chipmunk's default shape friction 0, elasticity 0).
//! - **Walls** are the inner faces of the spec's radius-2 segments (x = 7, x = 504, y = 7, y = 504), built as thick
//!   boxes that extend outwards: identical contacts for anything inside, but the block cannot be squeezed through
//!   a 4-px wall when the kinematic agent pins it there. Block–wall contacts are stiffer than rapier's default
//!   ([`SolverSettings::wall_contact_hz`]); a pinned block still sinks a few px into a wall, as any soft-contact
//!   solver (Chipmunk included) lets a kinematic pusher do.
//! - **No tunnelling.** The agent is kinematic and can reach several px per substep; its soft-CCD prediction
//!   distance is set each substep to its travel plus a margin, so the block always gets a speculative contact
//!   before the disc reaches it (tested in `tests::fast_push_does_not_tunnel`).
//!
//! The world is rebuilt from scratch on every `set_state` (a few µs), so contact caches and warm-start impulses
//! never leak from one episode into the next: the same state and actions give bit-identical results no matter
//! what the env simulated before.

use rapier2d::math::{Pose, Vector};
use rapier2d::prelude::{
    ColliderBuilder, ColliderSet, IntegrationParameters, MassProperties, PhysicsWorld,
    RigidBodyBuilder, RigidBodyHandle, SpringCoefficients,
};

use super::{AGENT_RADIUS, BLOCK_CENTER_OF_GRAVITY, BLOCK_MASS, BLOCK_MOMENT, BLOCK_RECTS};

/// Physics substep length in seconds (sim_hz = 100).
pub const SUBSTEP_DT: f32 = 0.01;
/// Inner faces of the walls: segment centre line 5 / 506 ± radius 2.
pub const WALL_MIN: f32 = 7.0;
/// Inner face of the right / bottom wall.
pub const WALL_MAX: f32 = 504.0;
/// Thickness of the wall boxes outside the inner faces (px); anything well above the block size works.
const WALL_THICKNESS: f32 = 200.0;
/// rapier's length unit: how many px count as "1 m" for its internal tolerances (prediction distance 2 px,
/// allowed penetration 0.5 px, max corrective velocity 300 px/s). The T block is ~100 px across.
const LENGTH_UNIT: f32 = 100.0;
/// Extra soft-CCD look-ahead of the agent beyond its travel in one substep (px).
const CCD_MARGIN: f32 = 2.0;

/// Tunable solver settings of the Push-T world.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SolverSettings {
    /// rapier solver iterations (substeps of its TGS solver) per 0.01-s physics step; ≥ 1, default 2.
    /// Chipmunk runs 10 Gauss–Seidel iterations; with one contact pair two TGS substeps already settle it.
    pub iterations: usize,
    /// Natural frequency (Hz) of the soft block–wall contacts; > 0, default 240 (rapier's default is 60).
    /// Measured over 3 × 10k steps of random agent targets: worst wall penetration 2–7 px at 240 Hz,
    /// 9–12 px at 60 Hz.
    pub wall_contact_hz: f32,
}

impl Default for SolverSettings {
    fn default() -> Self {
        Self {
            iterations: 2,
            wall_contact_hz: 240.0,
        }
    }
}

/// One Push-T physics world: the rapier state plus handles of the two moving bodies.
pub struct PushTWorld {
    world: PhysicsWorld,
    agent: RigidBodyHandle,
    block: RigidBodyHandle,
}

/// A full physical state in env units: agent position and velocity, block pose (local-origin position, angle).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhysState {
    /// Agent centre (px).
    pub agent_pos: [f32; 2],
    /// Agent velocity (px/s).
    pub agent_vel: [f32; 2],
    /// Block local origin in world px.
    pub block_pos: [f32; 2],
    /// Block angle (rad, any range).
    pub block_angle: f32,
}

impl PushTWorld {
    /// Builds a world with the bodies at `s` (no time passes).
    pub fn new(s: &PhysState, settings: SolverSettings) -> Self {
        let mut world = PhysicsWorld::new();
        world.gravity = Vector::ZERO;
        world.integration_parameters = integration_parameters(settings);
        add_walls(&mut world.colliders);

        let agent_body = RigidBodyBuilder::kinematic_velocity_based()
            .translation(vec2(s.agent_pos))
            .linvel(vec2(s.agent_vel))
            .can_sleep(false)
            .soft_ccd_prediction(CCD_MARGIN);
        let agent_collider = ColliderBuilder::ball(AGENT_RADIUS)
            .density(0.0)
            .friction(0.0)
            .restitution(0.0);
        let (agent, _) = world.insert(agent_body, agent_collider);

        let block_body = RigidBodyBuilder::dynamic()
            .pose(Pose::new(vec2(s.block_pos), s.block_angle))
            .additional_mass_properties(MassProperties::new(
                vec2(BLOCK_CENTER_OF_GRAVITY),
                BLOCK_MASS,
                BLOCK_MOMENT,
            ))
            .can_sleep(false);
        let block = world.insert_body(block_body);
        for [x0, x1, y0, y1] in BLOCK_RECTS {
            let part = ColliderBuilder::cuboid(0.5 * (x1 - x0), 0.5 * (y1 - y0))
                .translation(Vector::new(0.5 * (x0 + x1), 0.5 * (y0 + y1)))
                .density(0.0)
                .friction(0.0)
                .restitution(0.0);
            world.insert_collider(part, Some(block));
        }
        Self {
            world,
            agent,
            block,
        }
    }

    /// Advances one physics substep of [`SUBSTEP_DT`] with the agent moving at `agent_vel` (px/s).
    /// The block's velocity is zeroed first (Chipmunk damping 0), so it moves only by this substep's contacts.
    pub fn substep(&mut self, agent_vel: [f32; 2]) {
        let v = vec2(agent_vel);
        if let Some(agent) = self.world.bodies.get_mut(self.agent) {
            agent.set_linvel(v, true);
            agent.set_soft_ccd_prediction(v.length() * SUBSTEP_DT + CCD_MARGIN);
        }
        if let Some(block) = self.world.bodies.get_mut(self.block) {
            block.set_linvel(Vector::ZERO, true);
            block.set_angvel(0.0, true);
        }
        self.world.step();
    }

    /// The agent centre (px).
    pub fn agent_pos(&self) -> [f32; 2] {
        self.world
            .bodies
            .get(self.agent)
            .map_or([0.0; 2], |b| arr(b.translation()))
    }

    /// The current physical state.
    pub fn state(&self) -> PhysState {
        let (agent_pos, agent_vel) = match self.world.bodies.get(self.agent) {
            Some(b) => (arr(b.translation()), arr(b.linvel())),
            None => ([0.0; 2], [0.0; 2]),
        };
        let (block_pos, block_angle) = match self.world.bodies.get(self.block) {
            Some(b) => (arr(b.translation()), b.rotation().angle()),
            None => ([0.0; 2], 0.0),
        };
        PhysState {
            agent_pos,
            agent_vel,
            block_pos,
            block_angle,
        }
    }
}

/// rapier parameters for the px-scale Push-T world.
fn integration_parameters(settings: SolverSettings) -> IntegrationParameters {
    IntegrationParameters {
        dt: SUBSTEP_DT,
        length_unit: LENGTH_UNIT,
        num_solver_iterations: settings.iterations.max(1),
        // Contact recycling would keep contact points up to 0.05·length_unit = 5 px stale; with one contact
        // pair of interest it saves little, so keep contacts exact.
        contact_recycling: false,
        // Block–wall contacts stiffer than rapier's 60-Hz default so that a block pinned by the kinematic agent
        // sinks only a few px into a wall (block–agent contacts keep rapier's 30-Hz default: ~0.4 px of overlap
        // while pushing at 200 px/s).
        static_contact_softness: SpringCoefficients::new(
            settings.wall_contact_hz,
            SpringCoefficients::<f32>::contact_static_defaults().damping_ratio,
        ),
        ..IntegrationParameters::default()
    }
}

/// The four walls as parentless static boxes whose inner faces lie at WALL_MIN / WALL_MAX.
fn add_walls(colliders: &mut ColliderSet) {
    let t = WALL_THICKNESS;
    let half_len = 0.5 * (WALL_MAX + WALL_MIN) + t;
    let mid = 0.5 * (WALL_MAX + WALL_MIN);
    let boxes = [
        // (centre, half extents)
        ([WALL_MIN - 0.5 * t, mid], [0.5 * t, half_len]),
        ([WALL_MAX + 0.5 * t, mid], [0.5 * t, half_len]),
        ([mid, WALL_MIN - 0.5 * t], [half_len, 0.5 * t]),
        ([mid, WALL_MAX + 0.5 * t], [half_len, 0.5 * t]),
    ];
    for (c, h) in boxes {
        colliders.insert(
            ColliderBuilder::cuboid(h[0], h[1])
                .translation(vec2(c))
                .friction(0.0)
                .restitution(0.0),
        );
    }
}

fn vec2(v: [f32; 2]) -> Vector {
    Vector::new(v[0], v[1])
}

fn arr(v: Vector) -> [f32; 2] {
    [v.x, v.y]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_mass_properties_are_the_originals() {
        let s = PhysState {
            agent_pos: [100.0, 100.0],
            agent_vel: [0.0; 2],
            block_pos: [300.0, 300.0],
            block_angle: 0.5,
        };
        let mut w = PushTWorld::new(&s, SolverSettings::default());
        // rapier folds the additional mass properties in when the pipeline first sees the body.
        w.substep([0.0; 2]);
        let Some(block) = w.world.bodies.get(w.block) else {
            panic!("no block body");
        };
        let m = block.mass_properties().local_mprops;
        assert!((m.mass() - BLOCK_MASS).abs() < 1e-6, "mass {}", m.mass());
        assert!(
            (m.principal_inertia() - BLOCK_MOMENT).abs() < 1e-3,
            "moment {}",
            m.principal_inertia()
        );
        assert_eq!(arr(block.local_center_of_mass()), BLOCK_CENTER_OF_GRAVITY);
        // Pose is the local origin, not the centre of gravity.
        assert_eq!(w.state().block_pos, [300.0, 300.0]);
    }
}
