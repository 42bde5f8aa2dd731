//! Headless recording: render a planner's snapshots without a window and encode them as MP4 (H.264) or GIF.
//!
//! - [`frames`]: one planner's panel (env + overlays + HUD) per snapshot, and panels side by side.
//! - [`palette`]: overlay colours and colormaps (shared with the app).
//! - [`encode`]: the streaming [`VideoWriter`] (temp file + rename) and its [`BackgroundWriter`] thread.
//! - `h264`, `gifenc`: the two format sinks behind the writer; `quantize`: GIF palettes.
//! - [`hud`]: heads-up text line and loss plot.
//! - [`overlay`]: ghosts, residual segments, rollout paths and the sync flash over an env picture.
//! - [`session`]: a whole recording — planners in lock-step, frames chosen, rendered and encoded.
//! - [`closed_loop`]: a closed-loop (MPC) episode — executed trajectory growing, the current plan over it.
//! - [`probe`]: reading videos back (frame count, size, decoded frames).

pub mod closed_loop;
pub mod encode;
pub mod frames;
mod gifenc;
mod h264;
pub mod hud;
pub mod overlay;
pub mod palette;
pub mod probe;
mod quantize;
pub mod session;

#[cfg(test)]
mod encode_tests;

use std::path::PathBuf;

pub use closed_loop::record_mpc;
pub use encode::{BackgroundWriter, Finished, VideoFormat, VideoWriter};
pub use frames::Overlays;
pub use session::{record, record_in, Lane, Progress, RecordSpec, RecordSummary};

/// Errors from recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The output path does not end in `.mp4` or `.gif`.
    #[error("cannot record to {path}: the file extension must be .mp4 or .gif")]
    UnknownFormat { path: PathBuf },
    /// A frame size the format cannot hold.
    #[error("invalid video size {width}x{height}: {reason}")]
    InvalidSize {
        width: u32,
        height: u32,
        reason: String,
    },
    /// A frame rate the format cannot hold.
    #[error("invalid frame rate {fps}: {reason}")]
    InvalidFps { fps: u32, reason: String },
    /// A frame buffer of the wrong length.
    #[error("frame has {got} bytes, expected {expected} ({width}x{height} RGBA)")]
    FrameSize {
        got: usize,
        expected: usize,
        width: u32,
        height: u32,
    },
    /// Creating, writing or renaming the file failed (no permission, disk full, …).
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The codec or muxer refused.
    #[error("{format:?} encoder: {message}")]
    Encode {
        format: VideoFormat,
        message: String,
    },
    /// `finish` without any frame.
    #[error("no frames were recorded; {path} was not written")]
    NoFrames { path: PathBuf },
    /// A frame pushed after an earlier error closed the writer.
    #[error("the writer for {path} was closed by an earlier error")]
    Closed { path: PathBuf },
    /// Reading a video back failed.
    #[error("cannot read video {path}: {message}")]
    Read { path: PathBuf, message: String },
    /// Drawing a frame failed (bad size or scene).
    #[error("cannot draw frames: {0}")]
    Render(String),
    /// Building or running a planner failed.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// A recording request that makes no sense (no planners, zero iterations, …).
    #[error("{0}")]
    Invalid(String),
    /// The background encoder thread failed outside the encoder itself.
    #[error("video encoder thread: {0}")]
    EncoderThread(String),
}
