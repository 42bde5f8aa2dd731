//! GIF output: RGBA frames → palettized frames with per-frame local palettes, written by the `gif` crate.
//!
//! Two things keep files small and encoding fast:
//! - Frame differencing: after the first frame only the bounding box of changed pixels is stored, unchanged
//!   pixels inside it are transparent and frames are kept (`DisposalMethod::Keep`), so a static env costs
//!   nothing per frame.
//! - Quantization of only those changed pixels, with exact entries for frequent colours (`record::quantize`).
//!
//! GIF delays are whole centiseconds; frame k shows for round((k+1)·100/fps) − round(k·100/fps) cs, so the
//! average rate is exactly `fps`.

use std::fs::File;
use std::io::BufWriter;

use gif::{DisposalMethod, Encoder, Frame, Repeat};

use super::encode::SinkError;
use super::quantize::{Quantizer, Rect};

/// Streams frames into an animated GIF that loops forever.
pub(super) struct GifSink {
    encoder: Encoder<BufWriter<File>>,
    width: usize,
    height: usize,
    fps: u32,
    frames: u64,
    /// Frame periods written so far (a held frame spans several).
    slots: u64,
    prev: Vec<u8>,
    quant: Quantizer,
}

impl GifSink {
    /// Starts a GIF in `file`; `width`, `height` ≤ 65535 and `fps` ≤ 50 are checked by the caller.
    pub(super) fn create(file: File, width: u32, height: u32, fps: u32) -> Result<Self, SinkError> {
        let mut encoder = Encoder::new(
            BufWriter::with_capacity(1 << 20, file),
            width as u16,
            height as u16,
            &[],
        )
        .map_err(gif_error)?;
        encoder.set_repeat(Repeat::Infinite).map_err(gif_error)?;
        Ok(GifSink {
            encoder,
            width: width as usize,
            height: height as usize,
            fps,
            frames: 0,
            slots: 0,
            prev: Vec::new(),
            quant: Quantizer::default(),
        })
    }

    /// Appends one RGBA frame (already size-checked; alpha is ignored, frames are opaque) shown for
    /// `periods` ≥ 1 frame periods.
    pub(super) fn push(&mut self, rgba: &[u8], periods: u32) -> Result<(), SinkError> {
        let periods = u64::from(periods.max(1));
        let delay = delay_cs_between(self.slots, self.slots + periods, self.fps);
        self.slots += periods;
        let region = if self.prev.is_empty() {
            Some(Rect {
                x: 0,
                y: 0,
                w: self.width,
                h: self.height,
            })
        } else {
            changed_rect(&self.prev, rgba, self.width, self.height)
        };
        let frame = match region {
            None => Frame {
                delay,
                dispose: DisposalMethod::Keep,
                transparent: Some(0),
                width: 1,
                height: 1,
                palette: Some(vec![0, 0, 0]),
                buffer: vec![0u8].into(),
                ..Frame::default()
            },
            Some(r) => {
                let prev = (!self.prev.is_empty()).then_some(self.prev.as_slice());
                let (palette, indices, transparent) =
                    self.quant.quantize(rgba, prev, self.width, r);
                Frame {
                    delay,
                    dispose: DisposalMethod::Keep,
                    transparent,
                    left: r.x as u16,
                    top: r.y as u16,
                    width: r.w as u16,
                    height: r.h as u16,
                    palette: Some(palette),
                    buffer: indices.into(),
                    ..Frame::default()
                }
            }
        };
        self.encoder.write_frame(&frame).map_err(gif_error)?;
        if self.prev.is_empty() {
            self.prev = rgba.to_vec();
        } else {
            self.prev.copy_from_slice(rgba);
        }
        self.frames += 1;
        Ok(())
    }

    /// Writes the trailer and returns the file, flushed.
    pub(super) fn finish(self) -> Result<File, SinkError> {
        let writer = self.encoder.into_inner().map_err(gif_error)?;
        writer
            .into_inner()
            .map_err(|e| SinkError::Io(e.into_error()))
    }
}

/// Display time of frame `k` in centiseconds so that frames 0..=k end at round((k+1)·100/fps) cs.
#[cfg(test)]
fn frame_delay_cs(k: u64, fps: u32) -> u16 {
    delay_cs_between(k, k + 1, fps)
}

/// Centiseconds from the start of frame period `from` to the start of period `to` (the sum of their
/// `frame_delay_cs`, in O(1)), capped at the GIF maximum.
fn delay_cs_between(from: u64, to: u64, fps: u32) -> u16 {
    let fps = u64::from(fps.max(1));
    let end = |n: u64| n.saturating_mul(200).saturating_add(fps) / (2 * fps);
    (end(to) - end(from)).min(u64::from(u16::MAX)) as u16
}

/// Bounding box of the pixels whose RGB differs between `a` and `b`, or None if none does.
fn changed_rect(a: &[u8], b: &[u8], width: usize, height: usize) -> Option<Rect> {
    let stride = width * 4;
    let (mut x0, mut x1, mut y0, mut y1) = (usize::MAX, 0, usize::MAX, 0);
    for y in 0..height {
        let (ra, rb) = (
            &a[y * stride..(y + 1) * stride],
            &b[y * stride..(y + 1) * stride],
        );
        if ra == rb {
            continue;
        }
        let first = ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .position(|(p, q)| p[..3] != q[..3]);
        let Some(first) = first else {
            continue;
        };
        let last = ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .rposition(|(p, q)| p[..3] != q[..3])
            .unwrap_or(first);
        x0 = x0.min(first);
        x1 = x1.max(last);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    (y0 != usize::MAX).then(|| Rect {
        x: x0,
        y: y0,
        w: x1 - x0 + 1,
        h: y1 - y0 + 1,
    })
}

fn gif_error(e: gif::EncodingError) -> SinkError {
    match e {
        gif::EncodingError::Io(io) => SinkError::Io(io),
        other => SinkError::Codec(format!("GIF encoding failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_average_to_the_frame_rate() {
        let total: u64 = (0..30).map(|k| u64::from(frame_delay_cs(k, 30))).sum();
        assert_eq!(total, 100);
        assert!((0..30).all(|k| (3..=4).contains(&frame_delay_cs(k, 30))));
        assert_eq!(frame_delay_cs(0, 10), 10);
        assert_eq!(frame_delay_cs(5, 50), 2);
        // A held frame spans exactly the periods it covers, and huge spans saturate instead of overflowing.
        let held: u64 = (7..12).map(|k| u64::from(frame_delay_cs(k, 30))).sum();
        assert_eq!(u64::from(delay_cs_between(7, 12, 30)), held);
        assert_eq!(delay_cs_between(0, u64::MAX / 2, 30), u16::MAX);
    }

    #[test]
    fn changed_rect_bounds_the_difference() {
        let (w, h) = (8, 6);
        let a = vec![255u8; w * h * 4];
        let mut b = a.clone();
        assert_eq!(changed_rect(&a, &b, w, h), None);
        b[(2 * w + 3) * 4] = 0;
        b[(4 * w + 5) * 4 + 1] = 0;
        assert_eq!(
            changed_rect(&a, &b, w, h),
            Some(Rect {
                x: 3,
                y: 2,
                w: 3,
                h: 3
            })
        );
        let mut c = a.clone();
        c[3] = 0; // alpha only: not a change
        assert_eq!(changed_rect(&a, &c, w, h), None);
    }
}
