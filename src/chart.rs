//! A small line chart as PNG (daily revenue and net profit), with no drawing or image crate: a
//! pixel buffer, straight lines, and a PNG of stored (uncompressed) deflate blocks.

/// RGB colours of the two series and the frame.
pub const REVENUE: [u8; 3] = [0x1f, 0x6f, 0xd0];
pub const PROFIT: [u8; 3] = [0x1a, 0x9e, 0x4b];
const AXIS: [u8; 3] = [0x60, 0x60, 0x60];
const GRID: [u8; 3] = [0xe4, 0xe4, 0xe4];

pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Canvas {
        Canvas { width, height, pixels: vec![0xff; width * height * 3] }
    }

    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A line `w` pixels thick (Bresenham, stamped).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: [u8; 3], w: i64) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            for ox in 0..w {
                for oy in 0..w {
                    self.set(x + ox - w / 2, y + oy - w / 2, c);
                }
            }
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

    pub fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity((self.width * 3 + 1) * self.height);
        for row in self.pixels.chunks(self.width * 3) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&(self.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &zlib_stored(&raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// zlib with stored blocks: valid for every inflater, no compressor needed.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() { vec![&[]] } else { data.chunks(65_535).collect() };
    for (i, b) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(b);
    }
    let (mut a, mut s) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65_521;
        s = (s + a) % 65_521;
    }
    out.extend_from_slice(&((s << 16) | a).to_be_bytes());
    out
}

/// Two daily series (kopecks; `None` = unknown, a gap) on one scale, zero line included.
pub fn daily_chart(revenue: &[Option<i128>], profit: &[Option<i128>], width: usize, height: usize) -> Canvas {
    let mut c = Canvas::new(width, height);
    let (left, right, top, bottom) = (40i64, width as i64 - 20, 20i64, height as i64 - 30);
    let values = revenue.iter().chain(profit).flatten();
    let max = values.clone().copied().max().unwrap_or(0).max(0);
    let min = values.copied().min().unwrap_or(0).min(0);
    let span = (max - min).max(1);
    let y_of = |v: i128| bottom - ((v - min) * i128::from(bottom - top) / span) as i64;
    for g in 0..=4 {
        let y = top + (bottom - top) * g / 4;
        c.line((left, y), (right, y), GRID, 1);
    }
    c.line((left, top), (left, bottom), AXIS, 1);
    c.line((left, y_of(0)), (right, y_of(0)), AXIS, 1);
    let n = revenue.len().max(profit.len()).max(2) as i64;
    let x_of = |i: usize| left + (right - left) * i as i64 / (n - 1);
    for (series, colour) in [(revenue, REVENUE), (profit, PROFIT)] {
        for (i, w) in series.windows(2).enumerate() {
            if let (Some(a), Some(b)) = (w[0], w[1]) {
                c.line((x_of(i), y_of(a)), (x_of(i + 1), y_of(b)), colour, 3);
            }
        }
        if series.len() == 1
            && let Some(v) = series[0]
        {
            c.line((x_of(0), y_of(v)), (x_of(1), y_of(v)), colour, 3);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_png_frame_are_standard() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926, "the CRC-32 check value");
        let png = Canvas::new(3, 2).png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND's CRC");
    }

    #[test]
    fn series_are_drawn_where_their_values_are() {
        // Revenue rises 0 → 100, profit stays at 0: the top right is revenue's colour.
        let c = daily_chart(&[Some(0), Some(100)], &[Some(0), Some(0)], 200, 100);
        assert_eq!(c.get(180, 20), REVENUE);
        assert_eq!(c.get(100, 70), PROFIT, "profit on the zero line, drawn last");
    }
}
