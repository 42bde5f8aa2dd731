//! Streaming video files: [`VideoWriter`] takes RGBA8 frames one at a time and writes an MP4 (H.264) or an
//! animated GIF, chosen by the file extension. It writes to a temporary file next to the target and renames
//! it into place only in [`VideoWriter::finish`]; a writer dropped before that (an error, a panic) deletes
//! its temporary file, so no half-written video ever appears under the final name. (The temp file comes from
//! `util::create_temp`, so SIGINT/SIGTERM delete it too; only SIGKILL can leave the hidden `.<name>.<pid>-<n>.tmp`
//! behind, never a truncated `<name>`.)
//!
//! [`BackgroundWriter`] runs a `VideoWriter` on its own thread behind a bounded channel so a caller can render
//! frame k+1 while frame k is being encoded.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};

use super::gifenc::GifSink;
use super::h264::Mp4Sink;
use super::RecordError;

/// Largest frame rate accepted for any format.
pub const MAX_FPS: u32 = 240;
/// Largest GIF frame rate: GIF delays are whole centiseconds and browsers slow delays under 2 cs to 10 cs.
pub const MAX_GIF_FPS: u32 = 50;
/// Largest MP4 frame: OpenH264 encodes up to 3840×2160 (either orientation).
pub const MAX_MP4_SIDE: u32 = 3840;

/// A container/codec pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoFormat {
    /// H.264 in MP4 (`.mp4`).
    Mp4,
    /// Animated GIF (`.gif`).
    Gif,
}

impl VideoFormat {
    /// The format named by `path`'s extension (case-insensitive): `.mp4` or `.gif`.
    pub fn from_path(path: &Path) -> Result<Self, RecordError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("mp4") => Ok(VideoFormat::Mp4),
            Some("gif") => Ok(VideoFormat::Gif),
            _ => Err(RecordError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Checks that this format can hold `width`×`height` frames at `fps`.
    pub fn check(self, width: u32, height: u32, fps: u32) -> Result<(), RecordError> {
        let size_err = |reason: &str| RecordError::InvalidSize {
            width,
            height,
            reason: reason.to_string(),
        };
        let fps_err = |reason: &str| RecordError::InvalidFps {
            fps,
            reason: reason.to_string(),
        };
        if width == 0 || height == 0 {
            return Err(size_err("width and height must be at least 1"));
        }
        if fps == 0 {
            return Err(fps_err("must be at least 1"));
        }
        if fps > MAX_FPS {
            return Err(fps_err(&format!("must be at most {MAX_FPS}")));
        }
        match self {
            VideoFormat::Mp4 => {
                if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
                    return Err(size_err(
                        "MP4 (H.264, 4:2:0 chroma) needs even width and height",
                    ));
                }
                if width < 16 || height < 16 {
                    return Err(size_err("MP4 frames must be at least 16×16"));
                }
                if width.max(height) > MAX_MP4_SIDE || width.min(height) > 2160 {
                    return Err(size_err(
                        "MP4 frames must fit in 3840×2160 (either orientation)",
                    ));
                }
            }
            VideoFormat::Gif => {
                if width > u32::from(u16::MAX) || height > u32::from(u16::MAX) {
                    return Err(size_err("GIF frames must be at most 65535×65535"));
                }
                if fps > MAX_GIF_FPS {
                    return Err(fps_err(&format!(
                        "GIF delays are whole centiseconds and browsers slow frames under 2 cs; use at most {MAX_GIF_FPS}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What a format sink can fail with; [`VideoWriter`] adds the path and format.
#[derive(Debug)]
pub(super) enum SinkError {
    /// Writing the file failed (disk full, I/O error).
    Io(std::io::Error),
    /// The codec or muxer refused.
    Codec(String),
}

enum Sink {
    Mp4(Box<Mp4Sink>),
    Gif(Box<GifSink>),
}

/// A video file being written, frame by frame.
pub struct VideoWriter {
    path: PathBuf,
    tmp: PathBuf,
    width: u32,
    height: u32,
    fps: u32,
    format: VideoFormat,
    sink: Option<Sink>,
    frames: u64,
    encode_time: Duration,
}

impl VideoWriter {
    /// Opens a writer for `width`×`height` RGBA frames at `fps`, format by `path`'s extension (`.mp4`/`.gif`).
    /// Fails before any frame is rendered on an unknown extension, a size or rate the format cannot hold, or
    /// a path that cannot be written (missing directory, no permission, a directory in the way).
    pub fn create(
        path: &Path,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<VideoWriter, RecordError> {
        Self::create_inner(path, width, height, fps, None)
    }

    /// Like `create`, but the encoder writes into `sink_file` (e.g. `/dev/full`, to test a full disk) while
    /// the temporary file is still created and cleaned up as usual.
    #[cfg(test)]
    pub(super) fn create_with_sink_file(
        path: &Path,
        width: u32,
        height: u32,
        fps: u32,
        sink_file: File,
    ) -> Result<VideoWriter, RecordError> {
        Self::create_inner(path, width, height, fps, Some(sink_file))
    }

    fn create_inner(
        path: &Path,
        width: u32,
        height: u32,
        fps: u32,
        sink_file: Option<File>,
    ) -> Result<VideoWriter, RecordError> {
        let format = VideoFormat::from_path(path)?;
        format.check(width, height, fps)?;
        if path.is_dir() {
            return Err(RecordError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other("it is a directory"),
            });
        }
        let (tmp, file) = crate::util::create_temp(path).map_err(|source| RecordError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file = sink_file.unwrap_or(file);
        let sink = match format {
            VideoFormat::Mp4 => {
                Mp4Sink::create(file, width, height, fps).map(|s| Sink::Mp4(Box::new(s)))
            }
            VideoFormat::Gif => {
                GifSink::create(file, width, height, fps).map(|s| Sink::Gif(Box::new(s)))
            }
        };
        let sink = match sink {
            Ok(s) => s,
            Err(e) => {
                crate::util::discard_temp(&tmp);
                return Err(sink_error(path, format, e));
            }
        };
        Ok(VideoWriter {
            path: path.to_path_buf(),
            tmp,
            width,
            height,
            fps,
            format,
            sink: Some(sink),
            frames: 0,
            encode_time: Duration::ZERO,
        })
    }

    /// Appends one frame: `rgba` holds width×height×4 bytes, row-major, top row first, RGBA8 (alpha is
    /// ignored). After an error the writer is closed (its temp file deleted) and refuses further frames.
    pub fn push_frame(&mut self, rgba: &[u8]) -> Result<(), RecordError> {
        self.push_frame_for(rgba, 1)
    }

    /// Like [`VideoWriter::push_frame`], but the frame stays on screen for `periods` frame periods
    /// (`periods`/fps seconds; 0 counts as 1): a live capture that skipped frames keeps its wall-clock pace.
    pub fn push_frame_for(&mut self, rgba: &[u8], periods: u32) -> Result<(), RecordError> {
        let expected = self.width as usize * self.height as usize * 4;
        if rgba.len() != expected {
            return Err(RecordError::FrameSize {
                got: rgba.len(),
                expected,
                width: self.width,
                height: self.height,
            });
        }
        let Some(sink) = self.sink.as_mut() else {
            return Err(RecordError::Closed {
                path: self.path.clone(),
            });
        };
        let start = Instant::now();
        let result = match sink {
            Sink::Mp4(s) => s.push(rgba, periods),
            Sink::Gif(s) => s.push(rgba, periods),
        };
        self.encode_time += start.elapsed();
        match result {
            Ok(()) => {
                self.frames += 1;
                Ok(())
            }
            Err(e) => {
                self.abandon();
                Err(sink_error(&self.path, self.format, e))
            }
        }
    }

    /// Completes the file and renames it into place; returns the final path. Fails (leaving nothing behind)
    /// if no frame was pushed or the last writes fail.
    pub fn finish(mut self) -> Result<PathBuf, RecordError> {
        let Some(sink) = self.sink.take() else {
            return Err(RecordError::Closed {
                path: self.path.clone(),
            });
        };
        if self.frames == 0 {
            drop(sink);
            crate::util::discard_temp(&self.tmp);
            return Err(RecordError::NoFrames {
                path: self.path.clone(),
            });
        }
        let start = Instant::now();
        let file = match sink {
            Sink::Mp4(s) => s.finish(),
            Sink::Gif(s) => s.finish(),
        };
        let result = file
            .map_err(|e| sink_error(&self.path, self.format, e))
            .and_then(|f| {
                crate::util::commit_temp(&self.tmp, f, &self.path).map_err(|source| {
                    RecordError::Io {
                        path: self.path.clone(),
                        source,
                    }
                })
            });
        self.encode_time += start.elapsed();
        match result {
            Ok(()) => Ok(self.path.clone()),
            Err(e) => {
                crate::util::discard_temp(&self.tmp);
                Err(e)
            }
        }
    }

    /// The format being written.
    pub fn format(&self) -> VideoFormat {
        self.format
    }
    /// Frame width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
    /// Frames per second.
    pub fn fps(&self) -> u32 {
        self.fps
    }
    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
    /// Wall time spent inside the encoder so far (converting, compressing, writing).
    pub fn encode_time(&self) -> Duration {
        self.encode_time
    }
    /// The final path the video will have after `finish`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the sink and deletes the temporary file.
    fn abandon(&mut self) {
        if let Some(sink) = self.sink.take() {
            drop(sink);
            crate::util::discard_temp(&self.tmp);
        }
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        self.abandon();
    }
}

fn sink_error(path: &Path, format: VideoFormat, e: SinkError) -> RecordError {
    match e {
        SinkError::Io(source) => RecordError::Io {
            path: path.to_path_buf(),
            source,
        },
        SinkError::Codec(message) => RecordError::Encode { format, message },
    }
}

/// What [`BackgroundWriter::finish`] reports.
#[derive(Clone, Debug)]
pub struct Finished {
    /// The video's final path.
    pub path: PathBuf,
    /// Frames written.
    pub frames: u64,
    /// Wall time the encoder thread spent encoding and writing.
    pub encode_time: Duration,
}

enum Message {
    Frame(Vec<u8>),
    Finish,
}

/// A [`VideoWriter`] on its own thread. Frames go through a bounded queue (push blocks when it is full), and
/// their buffers come back through [`BackgroundWriter::buffer`] for reuse. Dropping it without `finish`
/// abandons the video (no file appears).
pub struct BackgroundWriter {
    tx: Option<Sender<Message>>,
    recycled: Receiver<Vec<u8>>,
    handle: Option<JoinHandle<Result<Finished, RecordError>>>,
    width: u32,
    height: u32,
    frame_len: usize,
}

impl BackgroundWriter {
    /// Moves `writer` onto a new thread with a queue of `capacity` frames (at least 1).
    pub fn spawn(writer: VideoWriter, capacity: usize) -> Result<Self, RecordError> {
        let (w, h) = writer.size();
        let frame_len = w as usize * h as usize * 4;
        let (tx, rx) = bounded::<Message>(capacity.max(1));
        let (recycle_tx, recycled) = bounded::<Vec<u8>>(capacity.max(1) + 1);
        let handle = std::thread::Builder::new()
            .name("video-encoder".to_string())
            .spawn(move || {
                let mut writer = writer;
                while let Ok(msg) = rx.recv() {
                    match msg {
                        Message::Frame(frame) => {
                            writer.push_frame(&frame)?;
                            recycle_tx.try_send(frame).ok();
                        }
                        Message::Finish => {
                            let frames = writer.frames();
                            let start = Instant::now();
                            let before = writer.encode_time();
                            let path = writer.finish()?;
                            return Ok(Finished {
                                path,
                                frames,
                                encode_time: before + start.elapsed(),
                            });
                        }
                    }
                }
                Err(RecordError::Closed {
                    path: writer.path().to_path_buf(),
                })
            })
            .map_err(|e| RecordError::EncoderThread(format!("cannot start: {e}")))?;
        Ok(BackgroundWriter {
            tx: Some(tx),
            recycled,
            handle: Some(handle),
            width: w,
            height: h,
            frame_len,
        })
    }

    /// A frame buffer of the right length to render into (recycled from an encoded frame when available;
    /// contents unspecified).
    pub fn buffer(&self) -> Vec<u8> {
        match self.recycled.try_recv() {
            Ok(b) if b.len() == self.frame_len => b,
            _ => vec![0; self.frame_len],
        }
    }

    /// Queues one RGBA frame, blocking while the queue is full. If the encoder thread has failed, returns
    /// its error.
    pub fn push_frame(&mut self, rgba: Vec<u8>) -> Result<(), RecordError> {
        if rgba.len() != self.frame_len {
            return Err(RecordError::FrameSize {
                got: rgba.len(),
                expected: self.frame_len,
                width: self.width,
                height: self.height,
            });
        }
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Message::Frame(rgba)).is_ok());
        if sent {
            return Ok(());
        }
        Err(self.join().err().unwrap_or_else(|| {
            RecordError::EncoderThread("stopped before the video was finished".to_string())
        }))
    }

    /// Finishes the video once every queued frame is encoded.
    pub fn finish(mut self) -> Result<Finished, RecordError> {
        if let Some(tx) = self.tx.as_ref() {
            // A failed send means the thread already stopped; `join` reports why.
            tx.send(Message::Finish).ok();
        }
        self.join()
    }

    fn join(&mut self) -> Result<Finished, RecordError> {
        self.tx = None;
        let Some(handle) = self.handle.take() else {
            return Err(RecordError::EncoderThread("already joined".to_string()));
        };
        match handle.join() {
            Ok(result) => result,
            Err(_) => Err(RecordError::EncoderThread("panicked".to_string())),
        }
    }
}

impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        // Closing the queue without `Finish` makes the thread drop its writer, which deletes the temp file.
        self.tx = None;
        if let Some(h) = self.handle.take() {
            h.join().ok();
        }
    }
}
