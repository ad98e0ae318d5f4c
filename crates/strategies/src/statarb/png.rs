//! A dependency-free PNG of an equity curve.
//!
//! The encoder writes the smallest valid PNG: 8-bit grayscale, no interlace, every scanline with
//! filter 0, and the zlib stream made of "stored" (uncompressed) deflate blocks of at most
//! 65,535 bytes with its Adler-32. Each chunk carries its CRC-32 (polynomial `0xEDB88320`). The
//! picture: white background, a mid-gray horizontal baseline at the curve's first value (the
//! start of an equity curve, zero of a PnL curve), and the curve in black, consecutive points
//! joined by straight segments. Point `i` of `n` sits at column `round(i·(w−1)/(n−1))` and row
//! `round((hi − v)/(hi − lo)·(h−1))`, where `[lo, hi]` spans the finite values and the baseline
//! (a flat curve sits mid-height).

/// Largest width or height drawn; larger requests are clamped (the image is built in memory).
pub const MAX_PNG_SIDE: u32 = 4096;

/// Gray level of the background.
pub const BACKGROUND: u8 = 255;
/// Gray level of the baseline.
pub const BASELINE: u8 = 160;
/// Gray level of the curve.
pub const CURVE: u8 = 0;

/// The PNG bytes of `curve` drawn in `width × height` pixels (each clamped to
/// `1..=MAX_PNG_SIDE`). Non-finite values are skipped; an empty curve gives a blank image.
pub fn equity_png(curve: &[f64], width: u32, height: u32) -> Vec<u8> {
    let w = width.clamp(1, MAX_PNG_SIDE);
    let h = height.clamp(1, MAX_PNG_SIDE);
    let pixels = draw(curve, w as usize, h as usize);
    encode_gray(&pixels, w, h)
}

/// The mapping from (index, value) to (column, row) described in the module docs.
struct Scale {
    n: usize,
    lo: f64,
    hi: f64,
    w: u32,
    h: u32,
}

impl Scale {
    /// The scale of `curve` in `w × h`; `None` when no value is finite.
    fn new(curve: &[f64], w: u32, h: u32) -> Option<Scale> {
        let base = *curve.iter().find(|v| v.is_finite())?;
        let (lo, hi) = curve
            .iter()
            .filter(|v| v.is_finite())
            .fold((base, base), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        Some(Scale {
            n: curve.len(),
            lo,
            hi,
            w,
            h,
        })
    }

    /// Where point `i`, of value `v`, lands; `None` for a non-finite value.
    fn pixel(&self, i: usize, v: f64) -> Option<(u32, u32)> {
        if !v.is_finite() {
            return None;
        }
        let x = if self.n > 1 {
            (i as f64 * f64::from(self.w - 1) / (self.n - 1) as f64).round()
        } else {
            0.0
        };
        // The span is computed before dividing so that a huge range cannot overflow to inf/inf.
        let y = if self.hi > self.lo {
            let t = (self.hi - v) / (self.hi - self.lo);
            (t * f64::from(self.h - 1)).round()
        } else {
            (f64::from(self.h - 1) / 2.0).round()
        };
        // `as` saturates, and NaN (an infinite span) lands on row 0.
        Some(((x as u32).min(self.w - 1), (y as u32).min(self.h - 1)))
    }
}

/// Row-major gray pixels of the picture.
fn draw(curve: &[f64], w: usize, h: usize) -> Vec<u8> {
    let mut px = vec![BACKGROUND; w * h];
    let Some(scale) = Scale::new(curve, w as u32, h as u32) else {
        return px;
    };
    let base = curve.iter().position(|v| v.is_finite()).unwrap_or(0);
    if let Some((_, row)) = scale.pixel(base, curve[base]) {
        let row = row as usize;
        px[row * w..(row + 1) * w].fill(BASELINE);
    }
    let mut last: Option<(u32, u32)> = None;
    for (i, &v) in curve.iter().enumerate() {
        let Some(p) = scale.pixel(i, v) else {
            continue;
        };
        line(&mut px, w, last.unwrap_or(p), p);
        last = Some(p);
    }
    px
}

/// Bresenham's line from `p0` to `p1`, both ends included.
fn line(px: &mut [u8], w: usize, p0: (u32, u32), p1: (u32, u32)) {
    let (mut x, mut y) = (i64::from(p0.0), i64::from(p0.1));
    let (x1, y1) = (i64::from(p1.0), i64::from(p1.1));
    let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
    let (sx, sy) = (if x < x1 { 1 } else { -1 }, if y < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        // x and y stay between the two ends, which are inside the image.
        px[y as usize * w + x as usize] = CURVE;
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// A PNG of 8-bit gray `pixels` (row-major, `w × h`).
fn encode_gray(pixels: &[u8], w: u32, h: u32) -> Vec<u8> {
    debug_assert_eq!(
        pixels.len(),
        w as usize * h as usize,
        "Invariant: w × h pixels"
    );
    let mut raw = Vec::with_capacity(pixels.len() + h as usize);
    for row in pixels.chunks(w as usize) {
        raw.push(0); // filter type 0: none
        raw.extend_from_slice(row);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    // Bit depth 8, color type 0 (gray), deflate, filter method 0, no interlace.
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 65_535 * 5 + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Appends a chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).expect("chunk data is bounded by MAX_PNG_SIDE²");
    out.extend_from_slice(&len.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks: header `78 01`, blocks, Adler-32 (big-endian).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    const MAX_BLOCK: usize = 65_535;
    let mut out = Vec::with_capacity(data.len() + data.len() / MAX_BLOCK * 5 + 11);
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(MAX_BLOCK).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = u8::from(blocks.peek().is_none());
        // BFINAL in bit 0, BTYPE 00 (stored); LEN and its complement, little-endian.
        let len = block.len() as u16;
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// Adler-32 of `data` (RFC 1950).
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1_u32, 0_u32);
    // 5552 bytes is the most that can be summed before b can overflow u32.
    for block in data.chunks(5552) {
        for &x in block {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// CRC-32 (ISO-HDLC, as PNG uses) by a table built at compile time.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0_u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[n] = c;
            n += 1;
        }
        t
    };
    !data.iter().fold(!0_u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}
