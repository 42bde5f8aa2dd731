//! Reading recorded videos back: frame count, size and duration, and the decoded frames as RGBA. Used by the
//! tests (and anyone checking a recording) without needing ffprobe: MP4 through the `mp4` crate's demuxer and
//! OpenH264's decoder, GIF through the `gif` crate with its frames composited onto the canvas.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use mp4::{Mp4Reader, TrackType};
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

use super::{RecordError, VideoFormat};

/// What a video file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// MP4 or GIF (by extension).
    pub format: VideoFormat,
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Number of frames (MP4 video samples; GIF image blocks).
    pub frames: usize,
    /// Total play time, seconds.
    pub duration_s: f64,
    /// How long each frame is shown, seconds (MP4 sample durations; GIF delays).
    pub frame_durations_s: Vec<f64>,
}

fn read_error(path: &Path, message: impl std::fmt::Display) -> RecordError {
    RecordError::Read {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn open(path: &Path) -> Result<File, RecordError> {
    File::open(path).map_err(|e| read_error(path, e))
}

/// Reads a video's size, frame count and duration.
pub fn probe(path: &Path) -> Result<VideoInfo, RecordError> {
    match VideoFormat::from_path(path)? {
        VideoFormat::Mp4 => {
            let file = open(path)?;
            let size = file.metadata().map_err(|e| read_error(path, e))?.len();
            let reader = Mp4Reader::read_header(BufReader::new(file), size)
                .map_err(|e| read_error(path, e))?;
            let track = reader
                .tracks()
                .values()
                .find(|t| matches!(t.track_type(), Ok(TrackType::Video)))
                .ok_or_else(|| read_error(path, "no video track"))?;
            let timescale = f64::from(track.timescale().max(1));
            let frame_durations_s = track
                .trak
                .mdia
                .minf
                .stbl
                .stts
                .entries
                .iter()
                .flat_map(|e| {
                    std::iter::repeat_n(
                        f64::from(e.sample_delta) / timescale,
                        e.sample_count as usize,
                    )
                })
                .collect();
            Ok(VideoInfo {
                format: VideoFormat::Mp4,
                width: u32::from(track.width()),
                height: u32::from(track.height()),
                frames: track.sample_count() as usize,
                duration_s: track.duration().as_secs_f64(),
                frame_durations_s,
            })
        }
        VideoFormat::Gif => {
            let mut decoder = gif::DecodeOptions::new()
                .read_info(BufReader::new(open(path)?))
                .map_err(|e| read_error(path, e))?;
            let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
            let (mut frames, mut centis) = (0usize, 0u64);
            let mut frame_durations_s = Vec::new();
            while let Some(frame) = decoder.next_frame_info().map_err(|e| read_error(path, e))? {
                centis += u64::from(frame.delay);
                frame_durations_s.push(f64::from(frame.delay) / 100.0);
                frames += 1;
                // Skip the pixel data without decoding it into a buffer we do not need.
                decoder
                    .read_into_buffer(&mut vec![0; decoder.buffer_size()])
                    .map_err(|e| read_error(path, e))?;
            }
            Ok(VideoInfo {
                format: VideoFormat::Gif,
                width,
                height,
                frames,
                duration_s: centis as f64 / 100.0,
                frame_durations_s,
            })
        }
    }
}

/// Decodes every frame of a video to full-size RGBA8 (alpha 255).
pub fn decode_frames(path: &Path) -> Result<Vec<Vec<u8>>, RecordError> {
    match VideoFormat::from_path(path)? {
        VideoFormat::Mp4 => decode_mp4(path),
        VideoFormat::Gif => decode_gif(path),
    }
}

fn decode_gif(path: &Path) -> Result<Vec<Vec<u8>>, RecordError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options
        .read_info(BufReader::new(open(path)?))
        .map_err(|e| read_error(path, e))?;
    let (w, h) = (usize::from(decoder.width()), usize::from(decoder.height()));
    let mut canvas = vec![0u8; w * h * 4];
    for px in canvas.chunks_exact_mut(4) {
        px[3] = 255;
    }
    let mut out = Vec::new();
    while let Some(frame) = decoder.read_next_frame().map_err(|e| read_error(path, e))? {
        let (fx, fy) = (usize::from(frame.left), usize::from(frame.top));
        let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
        for y in 0..fh {
            for x in 0..fw {
                let (cx, cy) = (fx + x, fy + y);
                let src = &frame.buffer[(y * fw + x) * 4..(y * fw + x) * 4 + 4];
                if cx < w && cy < h && src[3] != 0 {
                    canvas[(cy * w + cx) * 4..(cy * w + cx) * 4 + 3].copy_from_slice(&src[..3]);
                }
            }
        }
        out.push(canvas.clone());
    }
    Ok(out)
}

fn decode_mp4(path: &Path) -> Result<Vec<Vec<u8>>, RecordError> {
    let file = open(path)?;
    let size = file.metadata().map_err(|e| read_error(path, e))?.len();
    let mut reader =
        Mp4Reader::read_header(BufReader::new(file), size).map_err(|e| read_error(path, e))?;
    let (track_id, sps, pps, count) = {
        let track = reader
            .tracks()
            .values()
            .find(|t| matches!(t.track_type(), Ok(TrackType::Video)))
            .ok_or_else(|| read_error(path, "no video track"))?;
        let sps = track
            .sequence_parameter_set()
            .map_err(|e| read_error(path, e))?
            .to_vec();
        let pps = track
            .picture_parameter_set()
            .map_err(|e| read_error(path, e))?
            .to_vec();
        (track.track_id(), sps, pps, track.sample_count())
    };
    let mut decoder = Decoder::new().map_err(|e| read_error(path, e))?;
    let mut out = Vec::new();
    let mut push = |yuv: &openh264::decoder::DecodedYUV<'_>| {
        let (w, h) = yuv.dimensions();
        let mut rgba = vec![0u8; w * h * 4];
        yuv.write_rgba8(&mut rgba);
        out.push(rgba);
    };
    for id in 1..=count {
        let Some(sample) = reader
            .read_sample(track_id, id)
            .map_err(|e| read_error(path, e))?
        else {
            continue;
        };
        let mut packet = Vec::with_capacity(sample.bytes.len() + 64);
        if id == 1 {
            for ps in [&sps, &pps] {
                packet.extend_from_slice(&[0, 0, 0, 1]);
                packet.extend_from_slice(ps);
            }
        }
        let mut rest: &[u8] = &sample.bytes;
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let nal = rest
                .get(4..4 + len)
                .ok_or_else(|| read_error(path, format!("truncated NAL unit in sample {id}")))?;
            packet.extend_from_slice(&[0, 0, 0, 1]);
            packet.extend_from_slice(nal);
            rest = &rest[4 + len..];
        }
        if let Some(yuv) = decoder.decode(&packet).map_err(|e| read_error(path, e))? {
            push(&yuv);
        }
    }
    for yuv in decoder.flush_remaining().map_err(|e| read_error(path, e))? {
        push(&yuv);
    }
    Ok(out)
}
