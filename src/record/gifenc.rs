//! GIF output: RGBA frames → palettized frames with per-frame local palettes, written by the `gif` crate.
//!
//! Two things keep files small and encoding fast (both hand-written here because the `gif` crate's
//! `Frame::from_rgba` quantizes the whole frame with NeuQuant and maps every pixel through it, ~10× slower):
//! - Frame differencing: after the first frame only the bounding box of changed pixels is stored, unchanged
//!   pixels inside it are transparent and frames are kept (`DisposalMethod::Keep`), so a static env costs
//!   nothing per frame.
//! - Quantization: if the changed pixels hold at most 255 distinct colours the palette is exact (lossless);
//!   otherwise NeuQuant (`color_quant`) learns a 255-colour palette from them and a 15-bit colour cache maps
//!   pixels to it (colours that share their top 5 bits per channel share an index).
//!
//! GIF delays are whole centiseconds; frame k shows for round((k+1)·100/fps) − round(k·100/fps) cs, so the
//! average rate is exactly `fps`.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;

use color_quant::NeuQuant;
use gif::{DisposalMethod, Encoder, Frame, Repeat};

use super::encode::SinkError;

/// NeuQuant learns from every `samplefac`-th pixel: all of them for small regions, one in ten (the gif crate's
/// default) from 200 000 pixels up.
fn neuquant_samplefac(pixels: usize) -> i32 {
    (pixels / 20_000).clamp(1, 10) as i32
}
/// Palette size when quantizing (index 255 stays free for transparency).
const MAX_COLORS: usize = 255;

/// Streams frames into an animated GIF that loops forever.
pub(super) struct GifSink {
    encoder: Encoder<BufWriter<File>>,
    width: usize,
    height: usize,
    fps: u32,
    frames: u64,
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
            prev: Vec::new(),
            quant: Quantizer::default(),
        })
    }

    /// Appends one RGBA frame (already size-checked; alpha is ignored, frames are opaque).
    pub(super) fn push(&mut self, rgba: &[u8]) -> Result<(), SinkError> {
        let delay = frame_delay_cs(self.frames, self.fps);
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
pub(super) fn frame_delay_cs(k: u64, fps: u32) -> u16 {
    let fps = u64::from(fps.max(1));
    let end = |n: u64| (n * 200 + fps) / (2 * fps);
    (end(k + 1) - end(k)).min(u64::from(u16::MAX)) as u16
}

/// A pixel rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rect {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
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

/// Reusable buffers of the palette builder.
#[derive(Default)]
struct Quantizer {
    exact: HashMap<u32, u8>,
    samples: Vec<u8>,
    cache: Vec<u16>,
}

impl Quantizer {
    /// Palettizes `rect` of `rgba`. Pixels equal (RGB) to `prev` become the transparent index. Returns the
    /// RGB palette, the indices (rect.w × rect.h) and the transparent index if one is used.
    fn quantize(
        &mut self,
        rgba: &[u8],
        prev: Option<&[u8]>,
        width: usize,
        r: Rect,
    ) -> (Vec<u8>, Vec<u8>, Option<u8>) {
        let pixel = |x: usize, y: usize| -> [u8; 3] {
            let i = (y * width + x) * 4;
            [rgba[i], rgba[i + 1], rgba[i + 2]]
        };
        let unchanged = |x: usize, y: usize| -> bool {
            prev.is_some_and(|p| {
                let i = (y * width + x) * 4;
                p[i..i + 3] == rgba[i..i + 3]
            })
        };
        let mut indices = vec![0u8; r.w * r.h];
        let mut any_transparent = false;

        // Exact palette when the changed pixels hold few colours.
        self.exact.clear();
        let mut exact_ok = true;
        'scan: for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                if unchanged(x, y) {
                    continue;
                }
                let [cr, cg, cb] = pixel(x, y);
                let key = u32::from_be_bytes([0, cr, cg, cb]);
                let n = self.exact.len();
                if !self.exact.contains_key(&key) {
                    if n >= MAX_COLORS {
                        exact_ok = false;
                        break 'scan;
                    }
                    self.exact.insert(key, n as u8);
                }
            }
        }
        if exact_ok {
            let mut palette = vec![0u8; self.exact.len() * 3];
            for (&key, &i) in &self.exact {
                let [_, cr, cg, cb] = key.to_be_bytes();
                palette[i as usize * 3..i as usize * 3 + 3].copy_from_slice(&[cr, cg, cb]);
            }
            let transparent = self.exact.len() as u8;
            for y in r.y..r.y + r.h {
                for x in r.x..r.x + r.w {
                    let out = &mut indices[(y - r.y) * r.w + (x - r.x)];
                    if unchanged(x, y) {
                        *out = transparent;
                        any_transparent = true;
                    } else {
                        let [cr, cg, cb] = pixel(x, y);
                        *out = self.exact[&u32::from_be_bytes([0, cr, cg, cb])];
                    }
                }
            }
            if any_transparent {
                palette.extend_from_slice(&[0, 0, 0]);
            }
            return (palette, indices, any_transparent.then_some(transparent));
        }

        // NeuQuant over the changed pixels, mapped through a 15-bit cache.
        self.samples.clear();
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                if !unchanged(x, y) {
                    let [cr, cg, cb] = pixel(x, y);
                    self.samples.extend_from_slice(&[cr, cg, cb, 255]);
                }
            }
        }
        let nq = NeuQuant::new(
            neuquant_samplefac(self.samples.len() / 4),
            MAX_COLORS,
            &self.samples,
        );
        let mut palette = nq.color_map_rgb();
        palette.resize(MAX_COLORS * 3, 0);
        let transparent = MAX_COLORS as u8;
        self.cache.clear();
        self.cache.resize(1 << 15, u16::MAX);
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                let out = &mut indices[(y - r.y) * r.w + (x - r.x)];
                if unchanged(x, y) {
                    *out = transparent;
                    any_transparent = true;
                    continue;
                }
                let [cr, cg, cb] = pixel(x, y);
                let key = (usize::from(cr >> 3) << 10)
                    | (usize::from(cg >> 3) << 5)
                    | usize::from(cb >> 3);
                let slot = &mut self.cache[key];
                if *slot == u16::MAX {
                    *slot = nq.index_of(&[cr, cg, cb, 255]) as u16;
                }
                *out = *slot as u8;
            }
        }
        if any_transparent {
            palette.extend_from_slice(&[0, 0, 0]);
        }
        (palette, indices, any_transparent.then_some(transparent))
    }
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

    #[test]
    fn few_colours_quantize_exactly_with_transparency() {
        let (w, h) = (4, 2);
        let prev = vec![10u8; w * h * 4];
        let mut cur = prev.clone();
        cur[0..4].copy_from_slice(&[200, 0, 0, 255]);
        cur[4..8].copy_from_slice(&[0, 200, 0, 255]);
        let r = Rect { x: 0, y: 0, w, h };
        let (palette, idx, transparent) = Quantizer::default().quantize(&cur, Some(&prev), w, r);
        let t = transparent.expect("unchanged pixels are transparent");
        assert_eq!(palette.len(), 9);
        let color = |i: u8| &palette[i as usize * 3..i as usize * 3 + 3];
        assert_eq!(color(idx[0]), &[200, 0, 0]);
        assert_eq!(color(idx[1]), &[0, 200, 0]);
        assert!(idx[2..].iter().all(|&i| i == t));
    }

    #[test]
    fn many_colours_quantize_closely() {
        let (w, h) = (64, 64);
        let mut cur = vec![0u8; w * h * 4];
        for (i, p) in cur.chunks_exact_mut(4).enumerate() {
            let (x, y) = (i % w, i / w);
            p.copy_from_slice(&[(x * 4) as u8, (y * 4) as u8, 128, 255]);
        }
        let r = Rect { x: 0, y: 0, w, h };
        let (palette, idx, transparent) = Quantizer::default().quantize(&cur, None, w, r);
        assert_eq!(transparent, None);
        assert_eq!(palette.len(), MAX_COLORS * 3);
        let (mut worst, mut total) = (0i32, 0i64);
        for (i, p) in cur.chunks_exact(4).enumerate() {
            let c = &palette[idx[i] as usize * 3..idx[i] as usize * 3 + 3];
            for ch in 0..3 {
                let e = (i32::from(c[ch]) - i32::from(p[ch])).abs();
                worst = worst.max(e);
                total += i64::from(e);
            }
        }
        let mean = total as f64 / (w * h * 3) as f64;
        // A smooth 2-d gradient of 4096 colours in 255: NeuQuant spaces them ~16 levels apart.
        assert!(mean <= 6.0 && worst <= 40, "mean {mean:.2}, worst {worst}");
    }
}
