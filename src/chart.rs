//! A small line chart as PNG (daily revenue and net profit), with no drawing or image crate: a
//! pixel buffer, straight lines, a 5×7 bitmap font for the axis labels (digits and a few
//! signs: the labels need nothing else), and a PNG deflated at the best level (flate2).

use chrono::{Datelike, NaiveDate};

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

    /// `text` in the 5×7 font, `scale` pixels per dot, top-left at (x, y). Characters the font
    /// lacks are drawn as blanks.
    fn text(&mut self, x: i64, y: i64, text: &str, c: [u8; 3], scale: i64) {
        for (i, ch) in text.chars().enumerate() {
            let rows = glyph(ch);
            let x0 = x + i as i64 * 6 * scale;
            for (ry, bits) in rows.iter().enumerate() {
                for rx in 0..5 {
                    if bits & (0x10 >> rx) != 0 {
                        for oy in 0..scale {
                            for ox in 0..scale {
                                self.set(x0 + rx * scale + ox, y + ry as i64 * scale + oy, c);
                            }
                        }
                    }
                }
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
        chunk(&mut out, b"IDAT", &zlib(&raw));
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

/// zlib at the best level: a chart is flat colours on white, rows repeat, so filter "none" and
/// deflate take 800×400 from 960 KB to a few dozen.
fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

/// Rows of a 5×7 glyph, the high bit of 5 on the left.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        'k' => [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        _ => [0; 7],
    }
}

/// Grid values (kopecks) covering `min..=max` in 2–6 round steps of 1, 2 or 5 × 10ⁿ roubles.
pub fn ticks(min: i128, max: i128) -> Vec<i128> {
    let raw = ((max - min) / 4).max(100); // a step of at least one rouble
    let mut mag = 100i128;
    while mag * 10 <= raw {
        mag *= 10;
    }
    let step = [1, 2, 5, 10].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10 * mag);
    let lo = min.div_euclid(step) * step;
    let hi = -((-max).div_euclid(step) * step);
    (0..).map(|i| lo + i * step).take_while(|v| *v <= hi.max(lo + step)).collect()
}

/// A kopeck amount as a short rouble label: `0`, `750`, `12.5k`, `-3k`, `1.2M`. Tenths are cut,
/// not rounded: labels sit on round grid values, where nothing is cut.
pub fn label(kopecks: i128) -> String {
    let rub = kopecks / 100;
    let sign = if rub < 0 { "-" } else { "" };
    let a = rub.abs();
    let short = |unit: i128, suffix: &str| {
        let tenths = a * 10 / unit;
        if tenths % 10 == 0 {
            format!("{sign}{}{suffix}", tenths / 10)
        } else {
            format!("{sign}{}.{}{suffix}", tenths / 10, tenths % 10)
        }
    };
    match a {
        1_000_000.. => short(1_000_000, "M"),
        1_000.. => short(1_000, "k"),
        _ => format!("{sign}{a}"),
    }
}

/// Two daily series (kopecks; `None` = unknown, a gap) on one scale, zero line included, with
/// rouble labels on the grid lines and `DD.MM` dates (`DD.MM.YY` across New Year) under the
/// first, middle and last day.
pub fn daily_chart(
    dates: &[NaiveDate],
    revenue: &[Option<i128>],
    profit: &[Option<i128>],
    width: usize,
    height: usize,
) -> Canvas {
    const SCALE: i64 = 2; // font pixels per dot: 10×14 characters
    let mut c = Canvas::new(width, height);
    let (left, right, top, bottom) = (6 * 6 * SCALE + 12, width as i64 - 20, 20i64, height as i64 - 20 - 7 * SCALE);
    let values = revenue.iter().chain(profit).flatten();
    let ticks = ticks(values.clone().copied().min().unwrap_or(0).min(0), values.copied().max().unwrap_or(0).max(0));
    let (min, max) = (ticks[0], ticks[ticks.len() - 1]);
    let span = (max - min).max(1);
    let y_of = |v: i128| bottom - ((v - min) * i128::from(bottom - top) / span) as i64;
    for t in &ticks {
        let y = y_of(*t);
        c.line((left, y), (right, y), GRID, 1);
        let l = label(*t);
        c.text(left - 8 - l.len() as i64 * 6 * SCALE, y - 7 * SCALE / 2, &l, AXIS, SCALE);
    }
    c.line((left, top), (left, bottom), AXIS, 1);
    c.line((left, y_of(0)), (right, y_of(0)), AXIS, 1);
    let n = revenue.len().max(profit.len()).max(2) as i64;
    let x_of = |i: usize| left + (right - left) * i as i64 / (n - 1);
    let days = dates.len();
    let marks: &[usize] = match days {
        0 => &[],
        1 => &[0],
        _ => &[0, (days - 1) / 2, days - 1],
    };
    // A period across New Year says which year each date is in.
    let years = dates.first().zip(dates.last()).is_some_and(|(a, b)| a.year() != b.year());
    for &i in marks {
        let d = dates[i];
        let l = if years {
            format!("{:02}.{:02}.{:02}", d.day(), d.month(), d.year() % 100)
        } else {
            format!("{:02}.{:02}", d.day(), d.month())
        };
        let w = l.len() as i64 * 6 * SCALE;
        let x = (x_of(i) - w / 2).clamp(0, width as i64 - w);
        c.line((x_of(i), bottom), (x_of(i), bottom + 4), AXIS, 1);
        c.text(x, bottom + 8, &l, AXIS, SCALE);
    }
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

    /// The pixels a PNG of this module holds: IDAT inflated, filter bytes dropped.
    fn pixels_of(png: &[u8]) -> (u32, u32, Vec<u8>) {
        use std::io::Read;
        let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        let (w, h) = (be(16), be(20));
        let (mut at, mut idat) = (8, Vec::new());
        while at < png.len() {
            let len = be(at) as usize;
            if &png[at + 4..at + 8] == b"IDAT" {
                idat.extend_from_slice(&png[at + 8..at + 8 + len]);
            }
            at += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
        let row = w as usize * 3 + 1;
        assert_eq!(raw.len(), row * h as usize);
        assert!(raw.chunks(row).all(|r| r[0] == 0), "filter none on every row");
        (w, h, raw.chunks(row).flat_map(|r| r[1..].to_vec()).collect())
    }

    #[test]
    fn a_year_chart_is_small_and_decodes_to_the_canvas() {
        // Regression (issue #15): stored blocks made an 800×400 chart ~960 KB.
        let days: Vec<NaiveDate> = (0..365).map(|i| day(1) - chrono::Duration::days(i)).rev().collect();
        let revenue: Vec<Option<i128>> = (0..365).map(|i| Some(100_000 + (i * 7_919 % 50_000) as i128)).collect();
        let profit: Vec<Option<i128>> = (0..365).map(|i| Some(20_000 - (i * 3_571 % 40_000) as i128)).collect();
        let c = daily_chart(&days, &revenue, &profit, 800, 400);
        let png = c.png();
        assert!(png.len() <= 60 * 1024, "{} bytes", png.len());
        let (w, h, pixels) = pixels_of(&png);
        assert_eq!((w, h), (800, 400));
        for (x, y) in [(0, 0), (400, 200), (799, 399), (123, 321)] {
            let at = (y * 800 + x) * 3;
            assert_eq!(pixels[at..at + 3], c.get(x, y), "pixel {x},{y}");
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn series_are_drawn_where_their_values_are() {
        // Revenue rises 0 → 2 ₽ (the top tick), profit stays at 0: the top right is revenue's
        // colour, the zero line profit's (drawn last).
        let (w, h) = (300, 150);
        let c = daily_chart(&[day(1), day(2)], &[Some(0), Some(200)], &[Some(0), Some(0)], w, h);
        let (left, right, top, bottom) = (84, w as i64 - 20, 20, h as i64 - 34);
        assert_eq!(c.get(right as usize, top as usize), REVENUE);
        assert_eq!(c.get(((left + right) / 2) as usize, bottom as usize), PROFIT);
    }

    #[test]
    fn grid_lines_are_round_roubles_and_labelled() {
        // 1 234 567 ₽ at most: steps of 500k (a quarter of the span is 308k; 1-2-5 rounds up).
        assert_eq!(ticks(0, 123_456_700), [0, 50_000_000, 100_000_000, 150_000_000]);
        // A loss day: the grid reaches below zero in the same steps.
        assert_eq!(ticks(-3_000_000, 9_000_000), [-5_000_000, 0, 5_000_000, 10_000_000]);
        assert_eq!(ticks(0, 0), [0, 100], "an empty period still has a scale");
        let labels: Vec<String> = [0, 75_000, 1_250_000, -300_000, 150_000_000, -1_200_000_000].map(label).into();
        assert_eq!(labels, ["0", "750", "12.5k", "-3k", "1.5M", "-12M"]);
    }

    #[test]
    fn labels_are_drawn_left_of_the_axis_and_under_the_days() {
        let (w, h) = (400, 200);
        let c = daily_chart(&[day(1), day(2), day(3)], &[Some(0), Some(100_000), Some(50_000)], &[None; 3], w, h);
        let inked =
            |x0: usize, x1: usize, y0: usize, y1: usize| (x0..x1).any(|x| (y0..y1).any(|y| c.get(x, y) == AXIS));
        let (left, bottom) = (84, h - 34);
        assert!(inked(0, left - 4, 0, bottom), "tick labels left of the axis");
        assert!(inked(0, w, bottom + 6, h), "dates under the plot");
    }
}
