use grasp_explorer::env::pusht::physics::*;
use grasp_explorer::env::pusht::*;
use grasp_explorer::env::Env;
use grasp_explorer::util::rng_for;
use rand::Rng;
fn main() {
    // tunnelling at constant velocity
    for v in [500.0f32, 1000.0, 2000.0, 3000.0, 5000.0, 8000.0] {
        let s = PhysState {
            agent_pos: [256.0, 390.0],
            agent_vel: [0.0, -v],
            block_pos: [256.0, 250.0],
            block_angle: 0.0,
        };
        let mut w = PushTWorld::new(&s, SolverSettings::default());
        let mut worst = f32::INFINITY;
        let mut min_local_y = f32::INFINITY;
        for _ in 0..(150.0 / (v * 0.01)).ceil() as usize {
            w.substep([0.0, -v]);
            let st = w.state();
            let pose = [st.block_pos[0], st.block_pos[1], st.block_angle];
            worst = worst.min(distance_to_block(pose, st.agent_pos));
            min_local_y = min_local_y.min(block_from_world(pose, st.agent_pos)[1]);
        }
        let st = w.state();
        println!(
            "v {v}: min dist {worst:.2} min local y {min_local_y:.2} block {:?} {:.3}",
            st.block_pos, st.block_angle
        );
    }
    for v in [50.0f32, 200.0, 1000.0] {
        let s = PhysState { agent_pos: [256.0, 390.0], agent_vel: [0.0, -v], block_pos: [256.0, 250.0], block_angle: 0.0 };
        let mut w = PushTWorld::new(&s, SolverSettings::default());
        let mut pen = vec![];
        for _ in 0..(150.0 / (v * 0.01)).ceil() as usize {
            w.substep([0.0, -v]);
            let st = w.state();
            let pose = [st.block_pos[0], st.block_pos[1], st.block_angle];
            pen.push(15.0 - distance_to_block(pose, st.agent_pos));
        }
        let n = pen.len();
        println!("steady v {v}: penetration last {:.3} mean {:.3}", pen[n-1], pen.iter().sum::<f32>() / n as f32);
    }
    let t0 = std::time::Instant::now();
    let mut env = PushT::new();
    let mut pusher = ScriptedPusher::new(0);
    let mut st = env.reset(0);
    for i in 0..3000 { if i % 300 == 0 { st = env.reset(i); pusher = ScriptedPusher::new(i);} let a = pusher.act(&st); env.step(a); st = env.state(); }
    println!("dev steps/s {:.0}", 3000.0 / t0.elapsed().as_secs_f64());
    // squeeze
    for seed in [7u64, 8, 9] {
        let mut env = PushT::new();
        let mut s = env.reset(seed);
        let mut rng = rng_for(seed, "test");
        let (lo, hi) = (22.0f32, 489.0f32);
        let mut worst = 0.0f32;
        let mut worst_agent_overlap = 0.0f32;
        let mut steps = 0;
        while steps < 10000 {
            let t = [rng.random_range(lo..hi), rng.random_range(lo..hi)];
            for _ in 0..rng.random_range(1..9) {
                env.step([(t[0] - s[0]) / 100.0, (t[1] - s[1]) / 100.0]);
                s = env.state();
                steps += 1;
                for poly in block_polygons(s[2], s[3], s[4]) {
                    for p in poly {
                        for c in p {
                            worst = worst.max(7.0 - c).max(c - 504.0);
                        }
                    }
                }
                let ov = 15.0 - distance_to_block([s[2], s[3], s[4]], [s[0], s[1]]);
                if ov > 5.0 {
                    worst_agent_overlap += 1.0;
                }
            }
        }
        println!("seed {seed}: worst wall penetration {worst:.2} px, steps with agent overlap > 5 px: {worst_agent_overlap}");
    }
}
