//! Palettes for GIF frames: up to 255 colours per frame (index 255 is left for transparency).
//!
//! If the pixels to encode hold at most 255 distinct colours the palette is exact (lossless). Otherwise the
//! frequent colours (flat backgrounds, walls, bodies, text) keep exact entries, so flat regions never shift
//! colour between frames, and NeuQuant (`color_quant`) learns the remaining entries from the other pixels
//! (anti-aliased edges, translucent ghosts); those map through a cache of 15-bit bins (5 bits per channel),
//! each bin resolved once to the entry nearest its centre, which keeps mapping cheap when translucent ghosts
//! make tens of thousands of distinct colours. Hand-written because the `gif` crate's `Frame::from_rgba`
//! quantizes whole frames with NeuQuant alone: slower, and flat colours drift from frame to frame.

use std::collections::HashMap;

use color_quant::NeuQuant;

/// NeuQuant learns from every `samplefac`-th pixel: all of them for small regions, about 10 000 samples for
/// larger ones (at most every 30th pixel, NeuQuant's coarsest setting). Learning dominates the GIF encoder's
/// time on busy frames, and 10 000 samples are plenty for 255 colours.
fn neuquant_samplefac(pixels: usize) -> i32 {
    pixels.div_ceil(10_000).clamp(1, 30) as i32
}

/// Palette size when quantizing (index 255 stays free for transparency).
pub(super) const MAX_COLORS: usize = 255;
/// Most exact (frequent) colours kept when a frame has more than [`MAX_COLORS`]; NeuQuant gets the rest.
const MAX_EXACT: usize = 96;

/// A pixel rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rect {
    /// Left edge, px.
    pub x: usize,
    /// Top edge, px.
    pub y: usize,
    /// Width, px.
    pub w: usize,
    /// Height, px.
    pub h: usize,
}

/// Reusable buffers of the palette builder.
#[derive(Default)]
pub(super) struct Quantizer {
    counts: HashMap<u32, u32, ColorHash>,
    index_of: HashMap<u32, u8, ColorHash>,
    samples: Vec<u8>,
    bins: Vec<u16>,
}

/// A multiplicative hasher for packed colours: the colour maps are hit once per run of pixels, and the
/// standard library's DoS-resistant SipHash made them the GIF encoder's largest cost. Keys are our own pixel
/// colours, so there is no adversary to resist.
#[derive(Clone, Copy, Default)]
struct ColorHash;

impl std::hash::BuildHasher for ColorHash {
    type Hasher = ColorHasher;
    fn build_hasher(&self) -> ColorHasher {
        ColorHasher(0)
    }
}

/// The hasher [`ColorHash`] builds.
struct ColorHasher(u64);

impl std::hash::Hasher for ColorHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (self.0 ^ u64::from(v))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

/// Packs RGB into a hash key.
fn key(rgb: [u8; 3]) -> u32 {
    u32::from_be_bytes([0, rgb[0], rgb[1], rgb[2]])
}

/// Index of the palette entry nearest to `rgb` (squared RGB distance; ties to the lowest index).
fn nearest(palette: &[u8], rgb: [u8; 3]) -> u8 {
    let mut best = (u32::MAX, 0usize);
    for (i, c) in palette.chunks_exact(3).enumerate() {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).unsigned_abs().pow(2);
        let dist = d(c[0], rgb[0]) + d(c[1], rgb[1]) + d(c[2], rgb[2]);
        if dist < best.0 {
            best = (dist, i);
        }
    }
    best.1 as u8
}

impl Quantizer {
    /// Palettizes `rect` of `rgba`. Pixels equal (RGB) to `prev` become the transparent index. Returns the
    /// RGB palette, the indices (rect.w × rect.h) and the transparent index if one is used.
    ///
    /// With more than 255 colours, the most frequent exact colours (flat backgrounds, walls, bodies, text:
    /// up to [`MAX_EXACT`] of them, each covering at least 0.1 % of the pixels) keep exact palette entries, so
    /// flat regions never shift colour between frames, and NeuQuant spends the remaining entries on the other
    /// pixels (anti-aliased edges, translucent ghosts).
    pub(super) fn quantize(
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

        // Histogram of the changed pixels (runs of one colour cost one lookup).
        self.counts.clear();
        let mut total = 0u32;
        let mut run: Option<(u32, u32)> = None;
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                if unchanged(x, y) {
                    continue;
                }
                let k = key(pixel(x, y));
                total += 1;
                match &mut run {
                    Some((rk, n)) if *rk == k => *n += 1,
                    _ => {
                        if let Some((rk, n)) = run.take() {
                            *self.counts.entry(rk).or_insert(0) += n;
                        }
                        run = Some((k, 1));
                    }
                }
            }
        }
        if let Some((rk, n)) = run {
            *self.counts.entry(rk).or_insert(0) += n;
        }

        // Palette: exact colours by frequency (all of them if they fit), then NeuQuant for the rest.
        let mut by_count: Vec<(u32, u32)> = self.counts.iter().map(|(&k, &n)| (k, n)).collect();
        by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let fits = by_count.len() <= MAX_COLORS;
        let min_count = (total / 1000).max(1);
        let exact: Vec<u32> = if fits {
            by_count.iter().map(|&(k, _)| k).collect()
        } else {
            by_count
                .iter()
                .take_while(|&&(_, n)| n >= min_count)
                .take(MAX_EXACT)
                .map(|&(k, _)| k)
                .collect()
        };
        let mut palette = Vec::with_capacity(MAX_COLORS * 3 + 3);
        self.index_of.clear();
        for (i, &k) in exact.iter().enumerate() {
            let [_, cr, cg, cb] = k.to_be_bytes();
            palette.extend_from_slice(&[cr, cg, cb]);
            self.index_of.insert(k, i as u8);
        }
        if !fits {
            self.samples.clear();
            for y in r.y..r.y + r.h {
                for x in r.x..r.x + r.w {
                    if unchanged(x, y) {
                        continue;
                    }
                    let c = pixel(x, y);
                    if !self.index_of.contains_key(&key(c)) {
                        self.samples.extend_from_slice(&[c[0], c[1], c[2], 255]);
                    }
                }
            }
            let learned = MAX_COLORS - exact.len();
            let nq = NeuQuant::new(
                neuquant_samplefac(self.samples.len() / 4),
                learned,
                &self.samples,
            );
            palette.extend_from_slice(&nq.color_map_rgb());
            palette.truncate(MAX_COLORS * 3);
        }
        let transparent = (palette.len() / 3) as u8;

        // Indices: exact colours hit their own entry; any other colour goes through a cache of 15-bit bins
        // (5 bits per channel), each bin mapped once to the entry nearest its centre.
        self.bins.clear();
        self.bins.resize(1 << 15, u16::MAX);
        let mut indices = vec![0u8; r.w * r.h];
        let mut any_transparent = false;
        let mut last: Option<(u32, u8)> = None;
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                let out = &mut indices[(y - r.y) * r.w + (x - r.x)];
                if unchanged(x, y) {
                    *out = transparent;
                    any_transparent = true;
                    continue;
                }
                let c = pixel(x, y);
                let k = key(c);
                *out = match last {
                    Some((lk, li)) if lk == k => li,
                    _ => {
                        let i = match self.index_of.get(&k) {
                            Some(&i) => i,
                            None => {
                                let bin = (usize::from(c[0] >> 3) << 10)
                                    | (usize::from(c[1] >> 3) << 5)
                                    | usize::from(c[2] >> 3);
                                let slot = &mut self.bins[bin];
                                if *slot == u16::MAX {
                                    let centre =
                                        [(c[0] & !7) | 4, (c[1] & !7) | 4, (c[2] & !7) | 4];
                                    *slot = u16::from(nearest(&palette, centre));
                                }
                                *slot as u8
                            }
                        };
                        last = Some((k, i));
                        i
                    }
                };
            }
        }
        if any_transparent {
            palette.extend_from_slice(&[0, 0, 0]);
        }
        (palette, indices, any_transparent.then_some(transparent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn frequent_colours_stay_exact_among_many() {
        // Half white, half a 4096-colour gradient: white must survive exactly.
        let (w, h) = (128, 64);
        let mut cur = vec![255u8; w * h * 4];
        for (i, p) in cur.chunks_exact_mut(4).enumerate() {
            let (x, y) = (i % w, i / w);
            if x >= 64 {
                p.copy_from_slice(&[((x - 64) * 4) as u8, (y * 4) as u8, 90, 255]);
            }
        }
        let r = Rect { x: 0, y: 0, w, h };
        let (palette, idx, _) = Quantizer::default().quantize(&cur, None, w, r);
        let white = &palette[idx[0] as usize * 3..idx[0] as usize * 3 + 3];
        assert_eq!(white, &[255, 255, 255]);
        assert_eq!(nearest(&[0, 0, 0, 250, 250, 250], [255, 254, 255]), 1);
    }
}
