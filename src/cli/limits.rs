//! Command-line side of the size limits (`grasp_explorer::util::limits`) and of output paths: a bound check
//! that names the flag (usage error, exit 2), and the before-work check that every output flag can be written
//! and no two of them name the same file.

use std::path::Path;

use anyhow::Context as _;

use super::usage;

/// `value` ≤ `max`, else a usage error naming `flag` and the bound.
pub fn bound(flag: &str, value: usize, max: usize) -> anyhow::Result<usize> {
    grasp_explorer::util::limits::check_usize(flag, value, max)
        .map_err(|e| usage(e.to_string()))?;
    Ok(value)
}

/// Checks each given output (flag, path) can be written (not a directory, its directory writable) and that
/// no two flags name the same file: all before any work starts.
pub fn check_outputs(outputs: &[(&str, Option<&Path>)]) -> anyhow::Result<()> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|(f, p)| p.map(|p| (*f, p)))
        .collect();
    for (i, (flag, path)) in given.iter().enumerate() {
        if let Some((other, _)) = given[..i].iter().find(|(_, q)| same_file(q, path)) {
            return Err(usage(format!(
                "{other} and {flag} name the same file {}: give them different paths",
                path.display()
            )));
        }
        grasp_explorer::util::check_can_write(path)
            .with_context(|| format!("{flag} {}: cannot write there", path.display()))?;
    }
    Ok(())
}

/// A settings file given with `flag` (`--tuned`, `--gap-tuned`) must hold settings for every planner asked for
/// (its own entry or its family base's), the same rule wherever a file is given.
pub fn check_tuned_covers(
    flag: &str,
    t: &grasp_explorer::bench::settings::TunedSettings,
    kinds: &[grasp_explorer::plan::PlannerKind],
    path: &Path,
) -> anyhow::Result<()> {
    use grasp_explorer::bench::settings::family_base;
    let covered = |k: grasp_explorer::plan::PlannerKind| t.planners.contains_key(k.name());
    if let Some(kind) = kinds
        .iter()
        .find(|k| !covered(**k) && !covered(family_base(**k)))
    {
        let names: Vec<&str> = t.planners.keys().map(String::as_str).collect();
        return Err(usage(format!(
            "{flag} {}: no settings for planner {} (the file has: {})",
            path.display(),
            kind.name(),
            names.join(", ")
        )));
    }
    Ok(())
}

/// Whether two output paths name one file (compared after resolving their directories).
fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(p: &Path) -> Option<std::path::PathBuf> {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Some(dir.canonicalize().ok()?.join(p.file_name()?))
    }
    a == b || matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// Reads the settings file given with `flag` (`--tuned`, `--from`) for `env`: a file that cannot be read says so
/// and what is expected (exit 1); settings for another env say which to use instead (usage error, exit 2).
pub fn read_tuned(
    flag: &str,
    path: &Path,
    env: grasp_explorer::env::EnvKind,
) -> anyhow::Result<grasp_explorer::bench::settings::TunedSettings> {
    let t = grasp_explorer::bench::settings::TunedSettings::read(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot use {flag} {}: {e} (expected a settings file written by `tune`, such as \
             assets/tuned/{env}.json)",
            path.display()
        )
    })?;
    if t.env != env {
        return Err(usage(format!(
            "{flag} {}: the settings are for {}, not {env}; use settings tuned on {env} (e.g. \
             assets/tuned/{env}.json) or leave {flag} out",
            path.display(),
            t.env
        )));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_paths_are_refused_and_bounds_name_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("x.json");
        let b = dir.path().join(".").join("x.json");
        let e = check_outputs(&[("--out", Some(&a)), ("--save-run", Some(&b))]).unwrap_err();
        assert!(e.to_string().contains("--out and --save-run"), "{e}");
        assert!(check_outputs(&[("--out", Some(&a)), ("--save-run", None)]).is_ok());
        let e = check_outputs(&[("--save-run", Some(dir.path()))]).unwrap_err();
        assert!(format!("{e:#}").contains("--save-run"), "{e:#}");
        assert_eq!(bound("--queue", 3, 4).unwrap(), 3);
        let e = bound("--queue", 5, 4).unwrap_err().to_string();
        assert!(e.starts_with("--queue must be at most 4, got 5"), "{e}");
    }
}
