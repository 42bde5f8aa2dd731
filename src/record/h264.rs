//! MP4 output: RGBA frames → YUV 4:2:0 → H.264 (OpenH264, compiled from its bundled C source) → an MP4 file
//! (the `mp4` crate's muxer), one sample per frame at a constant frame rate.
//!
//! OpenH264 emits Annex-B NAL units (start-code prefixed); MP4 wants the SPS/PPS once in the `avcC` box and
//! every sample as 4-byte length-prefixed NAL units, so this module converts between the two. The encoder
//! runs with frame skipping off (every pushed frame becomes a sample), one thread (the caller overlaps
//! rendering and encoding itself), rate control off (constant quantizer), the camera-video tools at medium
//! complexity (OpenH264's screen-content mode made files ~10 % smaller but encoded 1.7× slower in
//! `benches/record.rs`), no adaptive quantization or background detection, BT.601 limited-range colour (what OpenH264's RGB→YUV conversion produces,
//! signalled in the VUI so players convert back correctly) and an IDR frame every two seconds for seeking.

use std::fs::File;
use std::io::BufWriter;

use mp4::{
    AvcConfig, FourCC, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType,
};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod,
    RateControlMode, UsageType, VuiConfig,
};
use openh264::formats::{RgbaSliceU8, YUVBuffer};
use openh264::OpenH264API;

use super::encode::SinkError;

/// Media-time ticks per frame: the track timescale is `fps × TICKS_PER_FRAME`.
const TICKS_PER_FRAME: u32 = 1000;
/// Nominal bits per pixel per frame (reported to OpenH264; with rate control off it does not limit anything).
const BITS_PER_PIXEL: f64 = 0.1;

/// NAL unit types we treat specially (H.264 Table 7-1).
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// Streams frames into an MP4 file.
pub(super) struct Mp4Sink {
    encoder: Encoder,
    yuv: YUVBuffer,
    muxer: Mp4Writer<BufWriter<File>>,
    width: usize,
    height: usize,
    fps: u32,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    track_added: bool,
    frames: u64,
    /// Frame periods written so far (a held frame spans several); the next sample starts here.
    slots: u64,
    sample: Vec<u8>,
}

impl Mp4Sink {
    /// Starts an MP4 in `file` (already created). `width` and `height` are even and in OpenH264's range.
    pub(super) fn create(file: File, width: u32, height: u32, fps: u32) -> Result<Self, SinkError> {
        // Rate control off: every frame is coded at OpenH264's default quantizer (QP 26), so quality does not
        // depend on the bitrate guess and there is no frame skipping. The bitrate is then only a label.
        let bitrate = (f64::from(width) * f64::from(height) * f64::from(fps) * BITS_PER_PIXEL)
            .clamp(100_000.0, 50_000_000.0) as u32;
        let config = EncoderConfig::new()
            .skip_frames(false)
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            .bitrate(BitRate::from_bps(bitrate))
            .rate_control_mode(RateControlMode::Off)
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Medium)
            .adaptive_quantization(false)
            .background_detection(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(2 * fps))
            .num_threads(1)
            .vui(VuiConfig::bt601());
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| SinkError::Codec(format!("cannot start the H.264 encoder: {e}")))?;
        let mp4_config = Mp4Config {
            major_brand: fourcc(*b"isom"),
            minor_version: 512,
            compatible_brands: vec![
                fourcc(*b"isom"),
                fourcc(*b"iso2"),
                fourcc(*b"avc1"),
                fourcc(*b"mp41"),
            ],
            timescale: 1000,
        };
        let muxer = Mp4Writer::write_start(BufWriter::with_capacity(1 << 20, file), &mp4_config)
            .map_err(mux_error)?;
        Ok(Mp4Sink {
            encoder,
            yuv: YUVBuffer::new(width as usize, height as usize),
            muxer,
            width: width as usize,
            height: height as usize,
            fps,
            sps: None,
            pps: None,
            track_added: false,
            frames: 0,
            slots: 0,
            sample: Vec::new(),
        })
    }

    /// Encodes one RGBA frame (already size-checked) and appends it as one sample, `periods`/fps seconds
    /// long (`periods` ≥ 1).
    pub(super) fn push(&mut self, rgba: &[u8], periods: u32) -> Result<(), SinkError> {
        self.yuv
            .read_rgba8(RgbaSliceU8::new(rgba, (self.width, self.height)));
        let stream = self
            .encoder
            .encode(&self.yuv)
            .map_err(|e| SinkError::Codec(format!("H.264 encoding failed: {e}")))?;
        let frame_type = stream.frame_type();
        self.sample.clear();
        let mut has_idr = false;
        for l in 0..stream.num_layers() {
            let Some(layer) = stream.layer(l) else {
                continue;
            };
            for n in 0..layer.nal_count() {
                let Some(nal) = layer.nal_unit(n).map(strip_start_code) else {
                    continue;
                };
                let Some(&header) = nal.first() else {
                    continue;
                };
                match header & 0x1f {
                    NAL_SPS => {
                        self.sps.get_or_insert_with(|| nal.to_vec());
                    }
                    NAL_PPS => {
                        self.pps.get_or_insert_with(|| nal.to_vec());
                    }
                    kind => {
                        has_idr |= kind == NAL_IDR;
                        let len = u32::try_from(nal.len()).map_err(|_| {
                            SinkError::Codec("H.264 NAL unit over 4 GiB".to_string())
                        })?;
                        self.sample.extend_from_slice(&len.to_be_bytes());
                        self.sample.extend_from_slice(nal);
                    }
                }
            }
        }
        if self.sample.is_empty() || matches!(frame_type, FrameType::Skip | FrameType::Invalid) {
            return Err(SinkError::Codec(format!(
                "the H.264 encoder produced no picture for frame {} ({frame_type:?})",
                self.frames
            )));
        }
        if !self.track_added {
            let (Some(sps), Some(pps)) = (&self.sps, &self.pps) else {
                return Err(SinkError::Codec(
                    "the H.264 encoder's first frame carried no SPS/PPS".to_string(),
                ));
            };
            let avc = AvcConfig {
                width: self.width as u16,
                height: self.height as u16,
                seq_param_set: sps.clone(),
                pic_param_set: pps.clone(),
            };
            let track = TrackConfig {
                track_type: TrackType::Video,
                timescale: self.fps * TICKS_PER_FRAME,
                language: "und".to_string(),
                media_conf: MediaConfig::AvcConfig(avc),
            };
            self.muxer.add_track(&track).map_err(mux_error)?;
            self.track_added = true;
        }
        let sample = Mp4Sample {
            start_time: self.slots * u64::from(TICKS_PER_FRAME),
            duration: TICKS_PER_FRAME.saturating_mul(periods.max(1)),
            rendering_offset: 0,
            is_sync: has_idr,
            bytes: bytes::Bytes::copy_from_slice(&self.sample),
        };
        self.muxer.write_sample(1, &sample).map_err(mux_error)?;
        self.frames += 1;
        self.slots += u64::from(periods.max(1));
        Ok(())
    }

    /// Writes the index (`moov`) and returns the file, flushed.
    pub(super) fn finish(mut self) -> Result<File, SinkError> {
        self.muxer.write_end().map_err(mux_error)?;
        self.muxer
            .into_writer()
            .into_inner()
            .map_err(|e| SinkError::Io(e.into_error()))
    }
}

/// Drops the Annex-B start code (00 00 01 or 00 00 00 01) in front of a NAL unit.
fn strip_start_code(nal: &[u8]) -> &[u8] {
    if nal.starts_with(&[0, 0, 0, 1]) {
        &nal[4..]
    } else if nal.starts_with(&[0, 0, 1]) {
        &nal[3..]
    } else {
        nal
    }
}

fn fourcc(code: [u8; 4]) -> FourCC {
    FourCC::from(u32::from_be_bytes(code))
}

fn mux_error(e: mp4::Error) -> SinkError {
    match e {
        mp4::Error::IoError(io) => SinkError::Io(io),
        other => SinkError::Codec(format!("MP4 muxing failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_codes_are_stripped() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x67, 9]), &[0x67, 9]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x68]), &[0x68]);
        assert_eq!(strip_start_code(&[0x65, 1]), &[0x65, 1]);
    }

    #[test]
    fn fourcc_spells_its_bytes() {
        assert_eq!(fourcc(*b"isom").to_string(), "isom");
    }
}
