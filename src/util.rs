//! Small shared helpers: deterministic RNG construction and atomic file writes (temp file + rename).

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The one RNG type used everywhere in the core, so results are reproducible from a seed.
pub type Rng = ChaCha8Rng;

/// A deterministic RNG for `seed`, salted by a stream name so independent uses of one seed do not correlate.
pub fn rng_for(seed: u64, stream: &str) -> Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ h.rotate_left(17))
}

/// The temporary path used while writing `path`: same directory, so the final rename is atomic.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` atomically: to a temp file in the same directory first, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Runs `write` on a temp file next to `path` and renames it into place only if `write` succeeded.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_path_for(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result
}

/// Checks, before any long work starts, that `path` can be written later: it is not a directory, and a probe
/// file can be created (and is removed again) in its directory.
pub fn check_can_write(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let probe = temp_path_for(path).with_extension("probe");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn rng_streams_are_deterministic_and_distinct() {
        let a: u64 = rng_for(7, "a").random();
        let a2: u64 = rng_for(7, "a").random();
        let b: u64 = rng_for(7, "b").random();
        assert_eq!(a, a2);
        assert_ne!(a, b);
    }

    #[test]
    fn can_write_checks_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        check_can_write(&dir.path().join("model.safetensors")).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(check_can_write(dir.path()).is_err(), "a directory");
        assert!(check_can_write(&dir.path().join("missing/model.safetensors")).is_err());
    }

    #[test]
    fn atomic_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        write_atomic(&p, b"hello").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_write_into_missing_dir_fails_cleanly() {
        let p = Path::new("/nonexistent-dir-xyz/x.txt");
        assert!(write_atomic(p, b"x").is_err());
    }
}
