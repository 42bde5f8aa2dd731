//! Seeded mutation fuzzing of the world-model loader (issue 15): byte flips, truncations, header-length and
//! metadata edits of the shipped models. Every case either loads and predicts finite one-step states from the
//! env's problem starts, or is rejected with a one-line error; never a panic. 300 cases by default;
//! `GRASP_FUZZ_CASES=N` runs more (the same seed, so case i is always the same file).

mod common;

use std::path::Path;

use rand::Rng as _;

use common::{shipped_model, Safetensors};
use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::model::io::decode;
use grasp_explorer::model::WorldModel;

/// Values a hostile or broken writer might put into a metadata number.
const NASTY: [f64; 12] = [
    0.0,
    -1.0,
    1e-45,
    3e38,
    -3e38,
    1e10,
    7.0,
    5.0,
    0.5,
    1e300,
    -0.0,
    123456789.0,
];

fn mutate(base: &[u8], rng: &mut grasp_explorer::util::Rng) -> Vec<u8> {
    let mut b = base.to_vec();
    match rng.random_range(0..6) {
        0 => {
            // Flip 1–16 random bits anywhere.
            for _ in 0..rng.random_range(1..=16) {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8);
            }
        }
        1 => {
            // Random bytes over a span of the data (weights).
            let i = rng.random_range(0..b.len());
            for x in b.iter_mut().skip(i).take(rng.random_range(1..64)) {
                *x = rng.random();
            }
        }
        2 => b.truncate(rng.random_range(0..b.len())),
        3 => {
            // Header length field off by a little or a lot.
            let n = u64::from_le_bytes(b[..8].try_into().unwrap());
            let m = match rng.random_range(0..3) {
                0 => n.wrapping_add(rng.random_range(1..64)),
                1 => n.wrapping_sub(rng.random_range(1..64)),
                _ => rng.random(),
            };
            b[..8].copy_from_slice(&m.to_le_bytes());
        }
        4 => {
            // A metadata number replaced by a nasty value.
            let mut st = Safetensors::parse(base);
            let mut info = st.info();
            let mut numbers = Vec::new();
            collect_numbers(&info, String::new(), &mut numbers);
            let pick = &numbers[rng.random_range(0..numbers.len())];
            let v = NASTY[rng.random_range(0..NASTY.len())];
            if let Some(slot) = info.pointer_mut(pick) {
                *slot = serde_json::json!(v);
            }
            st.set_info(&info);
            b = st.bytes();
        }
        _ => {
            // A metadata field removed, or a tensor's shape or offsets changed.
            let mut st = Safetensors::parse(base);
            if rng.random_bool(0.5) {
                let mut info = st.info();
                let keys: Vec<String> = info.as_object().unwrap().keys().cloned().collect();
                let k = &keys[rng.random_range(0..keys.len())];
                info.as_object_mut().unwrap().remove(k);
                st.set_info(&info);
            } else {
                let names: Vec<String> = st
                    .header
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "__metadata__")
                    .cloned()
                    .collect();
                let t = &names[rng.random_range(0..names.len())];
                let field = if rng.random_bool(0.5) {
                    "shape"
                } else {
                    "data_offsets"
                };
                let arr = st.header[t][field].as_array_mut().unwrap();
                let i = rng.random_range(0..arr.len());
                arr[i] = serde_json::json!(rng.random_range(0..100_000u64));
            }
            b = st.bytes();
        }
    }
    b
}

fn collect_numbers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Number(_) => out.push(at),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_numbers(x, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                collect_numbers(x, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// Loads `bytes`; a loaded model must predict finite states from a few problem starts.
fn check_case(bytes: &[u8]) -> Result<(), String> {
    let model = match decode(bytes, Path::new("fuzz.safetensors")) {
        Ok(m) => m,
        Err(e) => {
            let msg = e.to_string();
            return if msg.contains('\n') || msg.contains('\r') || msg.is_empty() {
                Err(format!("not a one-line error: {msg:?}"))
            } else {
                Ok(())
            };
        }
    };
    let env = model.info().env;
    let k = model.action_dim();
    for seed in 10..13 {
        let p = Problem::generate(env, 1, seed).unwrap();
        let s = model.encode_state(&p.start);
        for a in [0.0f32, 0.5, -0.5] {
            let next = model.predict(&s, &vec![a; k]);
            if next.iter().any(|x| !x.is_finite()) {
                return Err(format!("loaded but predicts {next:?} from seed {seed}"));
            }
        }
    }
    Ok(())
}

#[test]
fn mutated_models_load_and_predict_finite_or_are_refused_in_one_line() {
    let cases: usize = std::env::var("GRASP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let bases: Vec<(EnvKind, Vec<u8>)> = EnvKind::ALL
        .iter()
        .map(|e| (*e, std::fs::read(shipped_model(e.name())).unwrap()))
        .collect();
    let mut rng = grasp_explorer::util::rng_for(15, "model-fuzz");
    let (mut loaded, mut refused) = (0, 0);
    for case in 0..cases {
        let (env, base) = &bases[case % bases.len()];
        let bytes = mutate(base, &mut rng);
        let outcome = std::panic::catch_unwind(|| check_case(&bytes));
        match outcome {
            Ok(Ok(())) => {
                if decode(&bytes, Path::new("x")).is_ok() {
                    loaded += 1;
                } else {
                    refused += 1;
                }
            }
            Ok(Err(why)) => panic!("case {case} ({env}): {why}"),
            Err(_) => panic!("case {case} ({env}): the loader panicked"),
        }
    }
    eprintln!("{cases} mutated models: {loaded} loaded and predicted finite, {refused} refused");
    assert!(
        refused > 0 && loaded > 0,
        "the mutations should exercise both outcomes"
    );
}
