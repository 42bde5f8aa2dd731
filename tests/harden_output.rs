//! Hardening, outputs (issue 15): a closed stdout ends quietly and a full one is a one-line error, for every
//! subcommand that prints; long output names work; output flags are checked before work (a directory, the
//! same file twice); SIGINT/SIGTERM during `record` and `plan --save-run` leave no temp file.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{cmd, files_in, last_line_error, one_line_error, run, run_limited, stderr};

/// Commands that print on stdout, each small enough to finish in a second or two.
fn printing_commands(dir: &Path) -> Vec<Vec<String>> {
    let gif = dir.join("r.gif").display().to_string();
    let bench_out = dir.join("bench").display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&["model", "info", "--env", "wall"]),
        s(&[
            "model",
            "eval",
            "--env",
            "wall",
            "--gap-problems",
            "0",
            "--episodes",
            "1",
            "--json",
        ]),
        s(&["sim", "--env", "wall", "--steps", "5", "--json"]),
        s(&["sim", "--env", "wall", "--steps", "5"]),
        s(&[
            "plan",
            "--env",
            "wall",
            "--horizon",
            "3",
            "--iters",
            "3",
            "--json",
        ]),
        s(&["plan", "--env", "wall", "--horizon", "3", "--iters", "3"]),
        s(&[
            "bench",
            "--env",
            "wall",
            "--planners",
            "grasp",
            "--horizons",
            "3",
            "--problems",
            "1",
            "--iters",
            "3",
            "--out",
            &bench_out,
            "--json",
        ]),
        s(&[
            "record",
            "--env",
            "wall",
            "--horizon",
            "3",
            "--iters",
            "2",
            "--size",
            "128x128",
            "--hold",
            "0",
            "--out",
            &gif,
            "--json",
        ]),
    ]
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in printing_commands(dir.path()) {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut c = cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
        c.stdout(writer);
        let o = c.stderr(Stdio::piped()).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        std::fs::remove_dir_all(dir.path().join("bench")).ok();
    }
}

#[test]
fn a_full_stdout_is_a_one_line_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        panic!("/dev/full is missing: this Linux test needs it");
    };
    let dir = tempfile::tempdir().unwrap();
    for args in printing_commands(dir.path()) {
        let mut c = cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
        c.stdout(full.try_clone().unwrap());
        let o = c.stderr(Stdio::piped()).output().unwrap();
        let line = last_line_error(&o, 1);
        assert!(line.contains("writing to stdout"), "{args:?}: {line}");
        std::fs::remove_dir_all(dir.path().join("bench")).ok();
    }
}

#[test]
fn long_output_names_work() {
    let dir = tempfile::tempdir().unwrap();
    let long = |ext: &str| dir.path().join(format!("{}.{ext}", "p".repeat(245)));
    let (out, run_file) = (long("json"), long("jsonl"));
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--horizon",
        "3",
        "--iters",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists());
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--horizon",
        "3",
        "--iters",
        "3",
        "--save-run",
        run_file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_in(dir.path()).len(), 2, "{:?}", files_in(dir.path()));
}

#[test]
fn save_run_is_checked_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (o, took) = run_limited(
        cmd(&[
            "plan",
            "--env",
            "wall",
            "--horizon",
            "5",
            "--iters",
            "100000",
            "--save-run",
            d,
        ]),
        Duration::from_secs(30),
    );
    let line = one_line_error(&o, 1);
    assert!(line.contains("--save-run"), "{line}");
    assert!(
        took < Duration::from_secs(10),
        "{took:?}: not refused before work"
    );
    assert!(files_in(dir.path()).is_empty());
    // The same file for two outputs.
    let f = dir.path().join("x.json");
    let f = f.to_str().unwrap();
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--horizon",
        "3",
        "--iters",
        "3",
        "--out",
        f,
        "--save-run",
        f,
    ]);
    let line = one_line_error(&o, 2);
    assert!(line.contains("--out and --save-run"), "{line}");
    assert!(files_in(dir.path()).is_empty());
}

/// Starts `args`, waits until a temp file appears in `dir`, sends `signal`, and checks nothing is left.
fn interrupt_leaves_nothing(args: &[&str], dir: &Path, signal: &str) {
    let mut child = cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if files_in(dir).iter().any(|f| f.ends_with(".tmp")) {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{args:?} ended ({status}) before writing a temp file");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temp file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "{args:?} was not interrupted");
    assert!(
        files_in(dir).is_empty(),
        "{signal}: left {:?}",
        files_in(dir)
    );
}

#[test]
fn interrupted_record_and_save_run_leave_no_temp_file() {
    for signal in ["-INT", "-TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run.mp4");
        interrupt_leaves_nothing(
            &[
                "record",
                "--env",
                "wall",
                "--horizon",
                "20",
                "--iters",
                "100000",
                "--size",
                "64x64",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
            signal,
        );
        let run_file = dir.path().join("run.jsonl");
        interrupt_leaves_nothing(
            &[
                "plan",
                "--env",
                "wall",
                "--horizon",
                "20",
                "--iters",
                "10000000",
                "--save-run",
                run_file.to_str().unwrap(),
            ],
            dir.path(),
            signal,
        );
    }
}
