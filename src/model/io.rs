//! Saving and loading world models as safetensors: tensors `layers.{i}.weight` [out, in] and `layers.{i}.bias`
//! [out] (f32, little-endian) plus string metadata `format`, `format_version` and `model_info` (JSON
//! [`ModelInfo`]). docs/model-format.md is the reader's guide. Also where shipped models are looked up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::ensemble::{Ensemble, EnsembleInfo, ENSEMBLE_FORMAT_VERSION};
use super::fast::{Dense, MlpModel};
use super::info::{ModelInfo, FORMAT_NAME, FORMAT_VERSION};
use crate::env::EnvKind;
use crate::util::limits::MAX_MODEL_BYTES;

/// Environment variable naming a directory that holds `<env>.safetensors` files (overrides the shipped ones).
pub const MODELS_DIR_VAR: &str = "GRASP_EXPLORER_MODELS";

/// Why a world model could not be loaded or saved. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No file at the path.
    #[error("no world model at {}: train one with `{train}`", .path.display())]
    Missing {
        /// Where we looked.
        path: PathBuf,
        /// The command that trains one.
        train: String,
    },
    /// The file exists but could not be read.
    #[error("cannot read world model {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a safetensors file, or its tensors/metadata do not describe a valid model.
    #[error("{} is not a valid world-model file: {reason}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model written by an incompatible format version.
    #[error("{} has world-model format version {got}, this build reads version {FORMAT_VERSION}: retrain it with `{train}`", .path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        got: String,
        /// The command that trains a compatible one.
        train: String,
    },
    /// A single-model file where an ensemble was needed.
    #[error("{} holds one world model, not an ensemble: train one with `grasp-explorer train --env <env> --ensemble 5`", .path.display())]
    NotEnsemble {
        /// The file.
        path: PathBuf,
    },
    /// The shipped model where an ensemble was needed, with no shipped ensemble around it.
    #[error("{} has no ensemble around it (none at {}, or one around another model): pass --model with an ensemble file, or build it with `grasp-explorer train --env {env} --ensemble 5 --designated-model {} --out {}`", .model.display(), .shipped.display(), .model.display(), .shipped.display())]
    NoShippedEnsemble {
        /// The planning model.
        model: PathBuf,
        /// Where the shipped ensemble belongs.
        shipped: PathBuf,
        /// Its env.
        env: EnvKind,
    },
    /// A valid model for another env.
    #[error("{} is a world model for {got}, not {expected}", .path.display())]
    WrongEnv {
        /// The file.
        path: PathBuf,
        /// The env asked for.
        expected: EnvKind,
        /// The env in the file.
        got: EnvKind,
    },
    /// Writing failed.
    #[error("cannot write world model {}: {reason}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// The command that trains a model for `env` (printed in errors).
pub fn train_command(env: Option<EnvKind>, path: &Path) -> String {
    match env {
        Some(e) if *path == default_model_path(e) => format!("grasp-explorer train --env {e}"),
        Some(e) => format!("grasp-explorer train --env {e} --out {}", path.display()),
        None => format!("grasp-explorer train --env E --out {}", path.display()),
    }
}

/// Where the default model for `env` lives: `$GRASP_EXPLORER_MODELS/<env>.safetensors` if that variable is
/// set, else `./assets/models/<env>.safetensors` if `./assets/models` exists, else the crate's shipped
/// `assets/models` directory.
pub fn default_model_path(env: EnvKind) -> PathBuf {
    let file = format!("{}.safetensors", env.name());
    if let Some(dir) = std::env::var_os(MODELS_DIR_VAR).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join(file);
    }
    let local = Path::new("assets/models");
    if local.is_dir() {
        return local.join(file);
    }
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/models")).join(file)
}

fn env_from_file_name(path: &Path) -> Option<EnvKind> {
    path.file_stem()?.to_str()?.parse().ok()
}

/// Reads at most [`MAX_MODEL_BYTES`] (+1, to tell a larger file apart) from `path`.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_MODEL_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than the {} MiB limit of a world-model file",
            MAX_MODEL_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// Loads a model file (at most [`MAX_MODEL_BYTES`]), validating format, version, shapes, finiteness, sane
/// statistics and a finite probe prediction ([`super::checks`]).
pub fn load_model(path: &Path) -> Result<MlpModel, ModelError> {
    let bytes = match read_capped(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::Missing {
                path: path.to_path_buf(),
                train: train_command(env_from_file_name(path), path),
            })
        }
        Err(source) => {
            return Err(ModelError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    decode(&bytes, path)
}

/// The tensors and metadata of a world-model file's bytes, with `format` checked.
fn open_safetensors<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<(SafeTensors<'a>, HashMap<String, String>), ModelError> {
    let invalid = |reason: String| ModelError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| invalid(format!("not safetensors ({e})")))?;
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| invalid(format!("not safetensors ({e})")))?;
    let meta = header
        .metadata()
        .as_ref()
        .ok_or_else(|| invalid("no metadata".into()))?;
    if meta.get("format").map(String::as_str) != Some(FORMAT_NAME) {
        return Err(invalid(format!("metadata 'format' is not '{FORMAT_NAME}'")));
    }
    Ok((tensors, meta.clone()))
}

/// Parses model bytes; `path` is only used in error messages.
pub fn decode(bytes: &[u8], path: &Path) -> Result<MlpModel, ModelError> {
    let invalid = |reason: String| ModelError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let (tensors, meta) = open_safetensors(bytes, path)?;
    let version = meta.get("format_version").cloned().unwrap_or_default();
    if version == ENSEMBLE_FORMAT_VERSION.to_string() {
        // An ensemble file: planners use its designated member.
        return Ok(decode_ensemble_parts(&meta, &tensors, path)?.into_designated());
    }
    if version != FORMAT_VERSION.to_string() {
        return Err(ModelError::Version {
            path: path.to_path_buf(),
            got: if version.is_empty() {
                "(none)".into()
            } else {
                version
            },
            train: train_command(env_from_file_name(path), path),
        });
    }
    let json = meta
        .get("model_info")
        .ok_or_else(|| invalid("metadata has no 'model_info'".into()))?;
    let info: ModelInfo =
        serde_json::from_str(json).map_err(|e| invalid(format!("bad 'model_info' JSON ({e})")))?;
    let model = member_from(info, &tensors, "", path)?;
    if tensors.len() != 2 * model.layers().len() {
        return Err(invalid(format!(
            "file has {} tensors, metadata describes {}",
            tensors.len(),
            2 * model.layers().len()
        )));
    }
    Ok(model)
}

/// One model from its metadata and the tensors named `{prefix}layers.{i}.…`, fully checked.
fn member_from(
    info: ModelInfo,
    tensors: &SafeTensors<'_>,
    prefix: &str,
    path: &Path,
) -> Result<MlpModel, ModelError> {
    let invalid = |reason: String| ModelError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    if info.format_version != FORMAT_VERSION {
        return Err(ModelError::Version {
            path: path.to_path_buf(),
            got: info.format_version.to_string(),
            train: train_command(Some(info.env), path),
        });
    }
    super::checks::check_info(&info).map_err(invalid)?;
    let mut layers = Vec::with_capacity(info.layers.len());
    for (i, &[out_dim, in_dim]) in info.layers.iter().enumerate() {
        let weight = read_f32(
            tensors,
            &format!("{prefix}layers.{i}.weight"),
            &[out_dim, in_dim],
        )
        .map_err(invalid)?;
        let bias =
            read_f32(tensors, &format!("{prefix}layers.{i}.bias"), &[out_dim]).map_err(invalid)?;
        layers.push(Dense {
            in_dim,
            out_dim,
            weight,
            bias,
        });
    }
    let model = MlpModel::new(info, layers).map_err(invalid)?;
    super::checks::check_model(&model).map_err(invalid)?;
    Ok(model)
}

/// Most members an ensemble file may hold.
pub const MAX_MEMBERS: usize = 64;

/// The members of a version-2 file (metadata `ensemble`, tensors `members.{m}.layers.{i}.…`).
fn decode_ensemble_parts(
    meta: &HashMap<String, String>,
    tensors: &SafeTensors<'_>,
    path: &Path,
) -> Result<Ensemble, ModelError> {
    let invalid = |reason: String| ModelError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let json = meta
        .get("ensemble")
        .ok_or_else(|| invalid("version-2 metadata has no 'ensemble'".into()))?;
    let e: EnsembleInfo =
        serde_json::from_str(json).map_err(|e| invalid(format!("bad 'ensemble' JSON ({e})")))?;
    if e.member_info.len() != e.members || e.members > MAX_MEMBERS {
        return Err(invalid(format!(
            "'ensemble' lists {} members and {} member infos (at most {MAX_MEMBERS})",
            e.members,
            e.member_info.len()
        )));
    }
    let described: usize = e.member_info.iter().map(|i| 2 * i.layers.len()).sum();
    let mut members = Vec::with_capacity(e.members);
    for (m, info) in e.member_info.into_iter().enumerate() {
        members.push(member_from(info, tensors, &format!("members.{m}."), path)?);
    }
    if tensors.len() != described {
        return Err(invalid(format!(
            "file has {} tensors, metadata describes {described}",
            tensors.len()
        )));
    }
    Ensemble::new(members, e.designated, e.bootstrap).map_err(invalid)
}

/// Parses an ensemble file's bytes; a single-model file is an error saying how to train an ensemble.
pub fn decode_ensemble(bytes: &[u8], path: &Path) -> Result<Ensemble, ModelError> {
    let (tensors, meta) = open_safetensors(bytes, path)?;
    match meta.get("format_version").map(String::as_str) {
        Some(v) if v == ENSEMBLE_FORMAT_VERSION.to_string() => {
            decode_ensemble_parts(&meta, &tensors, path)
        }
        Some(v) if v == FORMAT_VERSION.to_string() => Err(ModelError::NotEnsemble {
            path: path.to_path_buf(),
        }),
        other => Err(ModelError::Version {
            path: path.to_path_buf(),
            got: other.unwrap_or("(none)").to_string(),
            train: train_command(env_from_file_name(path), path),
        }),
    }
}

/// Loads an ensemble file (checks as [`load_model`], for every member).
pub fn load_ensemble(path: &Path) -> Result<Ensemble, ModelError> {
    let bytes = read_capped(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ModelError::Missing {
            path: path.to_path_buf(),
            train: format!(
                "{} --ensemble 5",
                train_command(env_from_file_name(path), path)
            ),
        },
        _ => ModelError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    decode_ensemble(&bytes, path)
}

fn read_f32(st: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
    let t = st
        .tensor(name)
        .map_err(|_| format!("missing tensor '{name}'"))?;
    if t.dtype() != Dtype::F32 {
        return Err(format!("tensor '{name}' is {:?}, expected F32", t.dtype()));
    }
    if t.shape() != shape {
        return Err(format!(
            "tensor '{name}' has shape {:?}, expected {shape:?}",
            t.shape()
        ));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// A model's tensors, named `{prefix}layers.{i}.weight` / `.bias`.
fn layer_tensors(model: &MlpModel, prefix: &str) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    model
        .layers()
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            [
                (
                    format!("{prefix}layers.{i}.weight"),
                    vec![l.out_dim, l.in_dim],
                    to_le(&l.weight),
                ),
                (
                    format!("{prefix}layers.{i}.bias"),
                    vec![l.out_dim],
                    to_le(&l.bias),
                ),
            ]
        })
        .collect()
}

/// Serializes a model to safetensors bytes.
pub fn encode(model: &MlpModel) -> Result<Vec<u8>, String> {
    let info_json = serde_json::to_string(model.info()).map_err(|e| e.to_string())?;
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT_NAME.to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ("model_info".to_string(), info_json),
    ]);
    serialize(&layer_tensors(model, ""), metadata)
}

/// Serializes an ensemble (format version 2): every member's tensors under `members.{m}.`, the designated
/// member's metadata as `model_info` and the whole ensemble's as `ensemble`.
pub fn encode_ensemble(ens: &Ensemble) -> Result<Vec<u8>, String> {
    let info = serde_json::to_string(ens.designated_model().info()).map_err(|e| e.to_string())?;
    let ensemble = serde_json::to_string(&ens.info()).map_err(|e| e.to_string())?;
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT_NAME.to_string()),
        (
            "format_version".to_string(),
            ENSEMBLE_FORMAT_VERSION.to_string(),
        ),
        ("model_info".to_string(), info),
        ("ensemble".to_string(), ensemble),
    ]);
    let tensors: Vec<_> = ens
        .members()
        .iter()
        .enumerate()
        .flat_map(|(m, member)| layer_tensors(member, &format!("members.{m}.")))
        .collect();
    serialize(&tensors, metadata)
}

fn serialize(
    bytes: &[(String, Vec<usize>, Vec<u8>)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, String> {
    let mut views = Vec::with_capacity(bytes.len());
    for (name, shape, data) in bytes {
        let v = TensorView::new(Dtype::F32, shape.clone(), data).map_err(|e| e.to_string())?;
        views.push((name.clone(), v));
    }
    safetensors::tensor::serialize(views, Some(metadata)).map_err(|e| e.to_string())
}

fn to_le(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes a model atomically (temp file + rename), creating the parent directory if needed.
pub fn save_model(model: &MlpModel, path: &Path) -> Result<(), ModelError> {
    save_bytes(encode(model), path)
}

/// Writes an ensemble file atomically, as [`save_model`].
pub fn save_ensemble(ens: &Ensemble, path: &Path) -> Result<(), ModelError> {
    save_bytes(encode_ensemble(ens), path)
}

fn save_bytes(bytes: Result<Vec<u8>, String>, path: &Path) -> Result<(), ModelError> {
    let write_err = |reason: String| ModelError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = bytes.map_err(write_err)?;

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| write_err(e.to_string()))?;
    }
    crate::util::write_atomic(path, &bytes).map_err(|e| write_err(e.to_string()))
}

/// Loads the model for `env` from `path_override` or the default path, checking it was trained for `env`.
pub fn load_env_model(env: EnvKind, path_override: Option<&Path>) -> Result<MlpModel, ModelError> {
    let path = path_override.map_or_else(|| default_model_path(env), Path::to_path_buf);
    let model = match load_model(&path) {
        Err(ModelError::Missing { path, .. }) => {
            let train = train_command(Some(env), &path);
            return Err(ModelError::Missing { path, train });
        }
        other => other?,
    };
    if model.info().env != env {
        return Err(ModelError::WrongEnv {
            path,
            expected: env,
            got: model.info().env,
        });
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::info::Activation;
    use crate::model::mlp::untrained;
    use crate::model::WorldModel;

    fn model(env: EnvKind) -> MlpModel {
        untrained(env, &[16, 12], Activation::Silu, 4).unwrap()
    }

    fn err_of(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pusht.safetensors");
        std::fs::write(&p, bytes).unwrap();
        let e = load_env_model(EnvKind::Pusht, Some(&p))
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\n'), "multi-line error: {e}");
        e
    }

    /// Re-encodes with tensors/metadata altered by `edit`.
    fn tampered(
        m: &MlpModel,
        edit: impl Fn(&mut Vec<(String, Vec<usize>, Vec<u8>)>, &mut HashMap<String, String>),
    ) -> Vec<u8> {
        let st_bytes = encode(m).unwrap();
        let st = SafeTensors::deserialize(&st_bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&st_bytes).unwrap();
        let mut meta = header.metadata().clone().unwrap();
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = st
            .tensors()
            .into_iter()
            .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
            .collect();
        edit(&mut tensors, &mut meta);
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, s, d)| {
                (
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), d).unwrap(),
                )
            })
            .collect();
        safetensors::tensor::serialize(views, Some(meta)).unwrap()
    }

    #[test]
    fn save_load_round_trip_gives_identical_predictions() {
        let m = model(EnvKind::Pusht);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/m.safetensors");
        save_model(&m, &p).unwrap();
        let back = load_model(&p).unwrap();
        assert_eq!(back.info(), m.info());
        let s: Vec<f32> = (0..16).map(|i| (i as f32).sin()).collect();
        let a: Vec<f32> = (0..20).map(|i| (i as f32).cos()).collect();
        assert_eq!(back.predict(&s, &a), m.predict(&s, &a));
        let arc = crate::model::load_for_env(EnvKind::Pusht, Some(&p)).unwrap();
        assert_eq!(arc.predict(&s, &a), m.predict(&s, &a));
    }

    #[test]
    fn bad_files_give_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.safetensors");
        let e = load_env_model(EnvKind::Wall, Some(&missing))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("no world model at") && e.contains("grasp-explorer train --env wall"),
            "{e}"
        );

        let good = encode(&model(EnvKind::Pusht)).unwrap();
        assert!(err_of(&good[..good.len() / 2]).contains("not a valid world-model file"));
        let junk: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert!(err_of(&junk).contains("not a valid world-model file"));
        assert!(err_of(&[]).contains("not a valid world-model file"));

        let e = err_of(&encode(&model(EnvKind::Wall)).unwrap());
        assert!(e.contains("for wall, not pusht"), "{e}");

        let m = model(EnvKind::Pusht);
        let e = err_of(&tampered(&m, |_, meta| {
            meta.insert("format_version".into(), "99".into());
        }));
        assert!(e.contains("format version 99"), "{e}");
        let e = err_of(&tampered(&m, |_, meta| {
            meta.remove("format");
        }));
        assert!(e.contains("'format'"), "{e}");
        let e = err_of(&tampered(&m, |t, _| {
            let w = t.iter_mut().find(|x| x.0 == "layers.1.weight").unwrap();
            w.1 = vec![w.1[1], w.1[0]];
        }));
        assert!(e.contains("shape"), "{e}");
        let e = err_of(&tampered(&m, |t, _| {
            let w = t.iter_mut().find(|x| x.0 == "layers.0.bias").unwrap();
            w.2[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        }));
        assert!(e.contains("non-finite"), "{e}");
        let e = err_of(&tampered(&m, |t, _| t.retain(|x| x.0 != "layers.2.bias")));
        assert!(e.contains("missing tensor 'layers.2.bias'"), "{e}");
    }

    #[test]
    fn shipped_models_load_for_their_envs() {
        for env in EnvKind::ALL {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("assets/models")
                .join(format!("{env}.safetensors"));
            let m = load_env_model(env, Some(&p)).unwrap();
            assert_eq!(m.info().env, env);
            assert!(m.info().training.is_some());
        }
    }

    #[test]
    fn default_path_honours_env_var_dir() {
        let p = default_model_path(EnvKind::Pointmaze);
        assert!(p.ends_with("pointmaze.safetensors"));
    }
}
