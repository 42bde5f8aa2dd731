//! Every file the program writes goes through the one atomic writer (`grasp_explorer::util::atomic`): no
//! source file outside it creates, writes or renames files itself, except the bench trial log, which is
//! append-only by design (each row fsync'd; a torn last row is detected on resume, docs/benchmark.md). And a
//! write that fails or is abandoned part-way leaves nothing behind.

use std::io::Write as _;
use std::path::Path;

use grasp_explorer::util::{commit_temp, create_temp, write_atomic_with};

/// Calls that create, overwrite or move files.
const WRITERS: [&str; 6] = [
    "File::create",
    "fs::write(",
    "OpenOptions",
    "fs::rename(",
    "fs::copy(",
    "File::options",
];

/// (file, why it may write directly).
const ALLOWED: [(&str, &str); 2] = [
    ("src/util/atomic.rs", "the atomic writer itself"),
    (
        "src/bench/trial_log.rs",
        "the append-only trial log (resume reads it back)",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_file_is_written_outside_the_atomic_writer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut offenders = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let name = f.file_name().unwrap().to_string_lossy();
        if ALLOWED.iter().any(|(a, _)| *a == rel)
            || name.ends_with("_tests.rs")
            || name == "tests.rs"
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        // Test modules may write fixtures directly.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            if let Some(w) = WRITERS.iter().find(|w| l.contains(*w)) {
                offenders.push(format!("{rel}:{}: {w}", i + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "write files through grasp_explorer::util::atomic instead: {offenders:?}"
    );
}

#[test]
fn an_interrupted_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.json");
    // The closure fails half-way: no temp file, no final file.
    let r = write_atomic_with(&p, |f| {
        f.write_all(b"{\"half\":")?;
        Err(std::io::Error::other("interrupted"))
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A streaming writer abandoned before its commit: discarding removes the temp file; committing
    // replaces the final file whole.
    std::fs::write(&p, b"old").unwrap();
    let (tmp, mut f) = create_temp(&p).unwrap();
    f.write_all(b"new").unwrap();
    assert_eq!(
        std::fs::read(&p).unwrap(),
        b"old",
        "not visible before commit"
    );
    commit_temp(&tmp, f, &p).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"new");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
