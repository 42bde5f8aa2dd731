//! Helpers shared by the hardening tests: run the real binary as a user does (with a time limit), check the
//! one-line error contract, and edit shipped model files (metadata JSON, weights) the way a corrupted or
//! hand-edited file would differ.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_grasp-explorer");

/// A command for the binary, run from the crate root (so the shipped models are found).
pub fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("GRASP_EXPLORER_MODELS");
    c
}

/// Runs `c` to completion, killing it (and failing the test) after `limit`; returns output and wall time.
pub fn run_limited(mut c: Command, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn grasp-explorer");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let read = |r: Option<Box<dyn std::io::Read + Send>>| {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                r.read_to_end(&mut v).ok();
            }
            v
        };
        let out_thread = std::thread::spawn(move || {
            read(stdout.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>))
        });
        let err = read(stderr.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
        let out = out_thread.join().unwrap_or_default();
        tx.send((out, err)).ok();
    });
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let (stdout, stderr) = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
            return (
                Output {
                    status,
                    stdout,
                    stderr,
                },
                start.elapsed(),
            );
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("pid {pid}: {c:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the binary with `args` (60 s limit).
pub fn run(args: &[&str]) -> Output {
    run_limited(cmd(args), Duration::from_secs(60)).0
}

/// The process's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit `code` and exactly one stderr line starting with "error: "; returns that line.
pub fn one_line_error(o: &Output, code: i32) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {err:?}");
    assert!(lines[0].starts_with("error: "), "{err:?}");
    assert!(!err.contains('\r'), "raw CR in {err:?}");
    lines[0].to_string()
}

/// Asserts exit `code`, no panic, and that the last stderr line is the only "error: " line (informational
/// lines such as a bench's progress may come before it); returns that line.
pub fn last_line_error(o: &Output, code: i32) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{err:?}");
    assert_eq!(err.lines().last(), Some(errors[0]), "{err:?}");
    errors[0].to_string()
}

/// The shipped model file for `env`.
pub fn shipped_model(env: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/models/{env}.safetensors"))
}

/// A safetensors file split into its header JSON and its data bytes.
pub struct Safetensors {
    /// The header (tensor table and `__metadata__`).
    pub header: serde_json::Value,
    /// Everything after the header.
    pub data: Vec<u8>,
}

impl Safetensors {
    /// Splits `bytes` (must be a well-formed file).
    pub fn parse(bytes: &[u8]) -> Safetensors {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        Safetensors {
            header: serde_json::from_slice(&bytes[8..8 + n]).unwrap(),
            data: bytes[8 + n..].to_vec(),
        }
    }

    /// Joins header and data again (header padded with spaces to 8 bytes, as safetensors writes it).
    pub fn bytes(&self) -> Vec<u8> {
        let mut h = serde_json::to_vec(&self.header).unwrap();
        while !h.len().is_multiple_of(8) {
            h.push(b' ');
        }
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend(h);
        out.extend(&self.data);
        out
    }

    /// The `model_info` metadata JSON.
    pub fn info(&self) -> serde_json::Value {
        serde_json::from_str(self.header["__metadata__"]["model_info"].as_str().unwrap()).unwrap()
    }

    /// Replaces the `model_info` metadata JSON.
    pub fn set_info(&mut self, info: &serde_json::Value) {
        self.header["__metadata__"]["model_info"] = serde_json::Value::String(info.to_string());
    }

    /// Multiplies every weight and bias by `k`.
    pub fn scale_weights(&mut self, k: f32) {
        for c in self.data.chunks_exact_mut(4) {
            let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * k;
            c.copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// The shipped model for `env` with its `model_info` edited by `edit`, written into `dir`.
pub fn edited_model(
    dir: &Path,
    env: &str,
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> PathBuf {
    let mut st = Safetensors::parse(&std::fs::read(shipped_model(env)).unwrap());
    let mut info = st.info();
    edit(&mut info);
    st.set_info(&info);
    let p = dir.join(name);
    std::fs::write(&p, st.bytes()).unwrap();
    p
}

/// Files left in `dir` (names).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
