//! Standard output for every subcommand: `outln!` and `out!` replace
//! `println!`/`print!`, which panic when stdout fails. A closed pipe (`… --json | head -c 100`) ends the
//! process quietly with exit 0, as `head` users expect; any other write error (a full disk, `> /dev/full`)
//! is the usual one-line runtime error, exit 1. Pending temp files are deleted either way. Also the
//! non-finite check of reported figures.

use std::io::Write as _;

/// Writes formatted text to stdout and flushes it; on failure ends the process (see the module doc).
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        stdout_failed(&e);
    }
}

/// Ends the process after a failed stdout write: quietly (0) for a closed pipe, else one error line (1).
pub fn stdout_failed(e: &std::io::Error) -> ! {
    grasp_explorer::util::atomic::remove_pending_temps();
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    // stderr may be gone too; nothing more to do then.
    let _ = writeln!(std::io::stderr(), "error: writing to stdout: {e}");
    std::process::exit(1);
}

/// `println!` to stdout through [`write_stdout`].
macro_rules! outln {
    () => { $crate::cli::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` to stdout through [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::write_stdout(format_args!($($arg)*)) };
}

/// The JSON path of the first non-finite number in `v` (serde_json writes NaN and ±inf as `null`), if any.
pub fn first_non_finite(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => Some(String::new()),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| first_non_finite(x).map(|p| format!("[{i}]{p}"))),
        serde_json::Value::Object(m) => m
            .iter()
            .find_map(|(k, x)| first_non_finite(x).map(|p| format!(".{k}{p}"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_figures_are_found_by_path() {
        let v = serde_json::json!({"a": [1.0, {"b": f64::NAN}], "c": 2});
        assert_eq!(first_non_finite(&v).as_deref(), Some(".a[1].b"));
        assert_eq!(first_non_finite(&serde_json::json!({"x": [1, 2]})), None);
    }

    #[test]
    fn cli_sources_never_print_with_panicking_macros() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut bad = Vec::new();
        let mut stack = vec![dir.join("cli"), dir.join("main.rs")];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if code.contains("println!(") && !code.contains("eprintln!(")
                    || code.contains("print!(") && !code.contains("eprint!(")
                {
                    bad.push(format!("{}:{}", p.display(), i + 1));
                }
            }
        }
        assert!(bad.is_empty(), "use outln!/out! instead: {bad:?}");
    }
}
