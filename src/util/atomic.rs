//! The one atomic file writer: every file the program writes goes to a short hidden temp file in the same
//! directory (`.NAME-PREFIX.<pid>-<n>.tmp`, at most 64 bytes, so an output name up to the file system's
//! NAME_MAX still works) and is renamed into place only when complete. Pending temp files are kept in a
//! process-wide registry; [`install_signal_cleanup`] deletes them on SIGINT/SIGTERM (SIGKILL cannot be
//! caught and may leave one behind; it is never under the final name).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Bytes of the output's name kept in its temp name (cut at a character boundary).
const NAME_PREFIX_BYTES: usize = 32;

fn pending() -> &'static Mutex<Vec<PathBuf>> {
    static PENDING: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    PENDING.get_or_init(|| Mutex::new(Vec::new()))
}

fn lock_pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    pending()
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
}

/// A fresh temporary path for writing `path`: same directory (so the final rename is atomic), a name of at
/// most 64 bytes whatever the length of `path`'s name, unique within the process.
pub fn temp_path_for(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    let mut cut = name.len().min(NAME_PREFIX_BYTES);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{}.{}-{n}.tmp", &name[..cut], std::process::id()))
}

/// Creates a registered temp file for `path` (see [`temp_path_for`]); finish it with [`commit_temp`] or
/// remove it with [`discard_temp`]. Until then a SIGINT/SIGTERM deletes it.
pub fn create_temp(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let tmp = temp_path_for(path);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    lock_pending().push(tmp.clone());
    Ok((tmp, file))
}

fn unregister(tmp: &Path) {
    lock_pending().retain(|p| p != tmp);
}

/// Flushes `file` to disk and renames the temp file `tmp` onto `path`; on failure the temp file is removed.
pub fn commit_temp(tmp: &Path, file: std::fs::File, path: &Path) -> std::io::Result<()> {
    let result = file.sync_all().and_then(|()| {
        drop(file);
        std::fs::rename(tmp, path)
    });
    if result.is_err() {
        std::fs::remove_file(tmp).ok();
    }
    unregister(tmp);
    result
}

/// Removes an unfinished temp file (a missing one is fine).
pub fn discard_temp(tmp: &Path) {
    std::fs::remove_file(tmp).ok();
    unregister(tmp);
}

/// Deletes every temp file still pending (used on termination signals and on fatal exits).
pub fn remove_pending_temps() {
    // try_lock: a signal may arrive while this thread holds the lock; never deadlock on the way out.
    let list = match pending().try_lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(std::sync::TryLockError::Poisoned(p)) => std::mem::take(&mut *p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => {
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::mem::take(&mut *lock_pending())
        }
    };
    for p in list {
        std::fs::remove_file(p).ok();
    }
}

/// Starts a thread that, on SIGINT or SIGTERM, deletes the pending temp files and then ends the process the
/// way the signal would have (so the exit status still says which signal). Call once, early, in the binary.
pub fn install_signal_cleanup() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("temp-cleanup".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                remove_pending_temps();
                signal_hook::low_level::emulate_default_handler(sig).ok();
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
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
    let (tmp, mut file) = create_temp(path)?;
    match write(&mut file) {
        Ok(()) => commit_temp(&tmp, file, path),
        Err(e) => {
            drop(file);
            discard_temp(&tmp);
            Err(e)
        }
    }
}

/// Checks, before any long work starts, that `path` can be written later: it is not a directory, and a probe
/// file can be created (and is removed again) in its directory.
pub fn check_can_write(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let (tmp, file) = create_temp(path)?;
    drop(file);
    discard_temp(&tmp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        let err = write_atomic_with(&p, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn temps_are_registered_until_committed_or_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("video.mp4");
        let (tmp, file) = create_temp(&p).unwrap();
        assert!(tmp.exists() && lock_pending().contains(&tmp));
        commit_temp(&tmp, file, &p).unwrap();
        assert!(p.exists() && !lock_pending().contains(&tmp));
        let (tmp, _file) = create_temp(&p).unwrap();
        discard_temp(&tmp);
        assert!(!tmp.exists() && !lock_pending().contains(&tmp));
    }

    #[test]
    fn temp_names_are_short_and_unique() {
        let long = "n".repeat(255);
        let a = temp_path_for(Path::new(&long));
        let b = temp_path_for(Path::new(&long));
        assert_ne!(a, b);
        assert!(a.as_os_str().len() <= 64, "{}", a.display());
        let multi = "é".repeat(100);
        assert!(temp_path_for(Path::new(&multi)).as_os_str().len() <= 64);
    }

    #[test]
    fn long_output_names_work() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("{}.json", "a".repeat(250)));
        write_atomic(&p, b"{}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{}");
    }

    #[test]
    fn atomic_write_into_missing_dir_fails_cleanly() {
        let p = Path::new("/nonexistent-dir-xyz/x.txt");
        assert!(write_atomic(p, b"x").is_err());
    }
}
