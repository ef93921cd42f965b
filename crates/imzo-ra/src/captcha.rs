//! A small captcha renderer: blocky digit glyphs with random placement, shear and
//! colour, crossed by noise lines and dots. The answer never leaves the server.

use image::{Rgb, RgbImage};
use std::io::Cursor;

/// 5×7 glyphs of the digits 0–9, one row per byte (low 5 bits, MSB on the left).
const GLYPHS: [[u8; 7]; 10] = [
    [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
    [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
    [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
    [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
    [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
    [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
    [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
    [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
];

const WIDTH: u32 = 200;
const HEIGHT: u32 = 70;
const CELL: i32 = 6;

/// A stream of random bytes drawn from the OS in blocks.
struct Noise {
    pool: Vec<u8>,
    at: usize,
}

impl Noise {
    fn new() -> Result<Self, getrandom::Error> {
        let mut pool = vec![0u8; 4096];
        getrandom::fill(&mut pool)?;
        Ok(Noise { pool, at: 0 })
    }

    fn byte(&mut self) -> u8 {
        let b = self.pool[self.at % self.pool.len()];
        self.at += 1;
        b
    }

    /// A value in `0..n` (n ≤ 256, which WIDTH and HEIGHT respect; a small bias does not matter for noise).
    fn below(&mut self, n: u32) -> i32 {
        (u32::from(self.byte()) % n.max(1)) as i32
    }
}

fn put(img: &mut RgbImage, x: i32, y: i32, colour: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < WIDTH && (y as u32) < HEIGHT {
        img.put_pixel(x as u32, y as u32, colour);
    }
}

fn line(img: &mut RgbImage, (mut x0, mut y0): (i32, i32), (x1, y1): (i32, i32), colour: Rgb<u8>) {
    let dx = (x1 - x0).abs();
    let dy = -(y1 - y0).abs();
    let sx = if x0 < x1 { 1 } else { -1 };
    let sy = if y0 < y1 { 1 } else { -1 };
    let mut err = dx + dy;
    loop {
        put(img, x0, y0, colour);
        put(img, x0, y0 + 1, colour);
        if x0 == x1 && y0 == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x0 += sx;
        }
        if e2 <= dx {
            err += dx;
            y0 += sy;
        }
    }
}

/// Draws `answer` (ASCII digits) as a PNG.
pub(crate) fn render(answer: &str) -> Result<Vec<u8>, String> {
    let mut rng = Noise::new().map_err(|e| e.to_string())?;
    let mut img = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb([240, 240, 232]));
    // Background speckle first so glyphs stay readable on top of it.
    for _ in 0..600 {
        let (x, y) = (rng.below(WIDTH), rng.below(HEIGHT));
        let g = 150 + rng.below(80) as u8;
        put(&mut img, x, y, Rgb([g, g, g.saturating_sub(20)]));
    }
    let slot = (WIDTH as i32 - 20) / answer.len().max(1) as i32;
    for (i, c) in answer.bytes().enumerate() {
        let Some(glyph) = c.checked_sub(b'0').and_then(|d| GLYPHS.get(usize::from(d))) else {
            return Err(format!("captcha answer holds a non-digit {c:#x}"));
        };
        let colour = Rgb([rng.below(110) as u8, rng.below(110) as u8, rng.below(140) as u8]);
        let left = 10 + i as i32 * slot + rng.below(6);
        let top = 8 + rng.below(16);
        // Shear: each row shifts by `shear/4` pixels, a cheap stand-in for rotation.
        let shear = rng.below(9) - 4;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..5 {
                if bits & (0b10000 >> col) == 0 {
                    continue;
                }
                let bx = left + col * CELL + (row as i32 * shear) / 4;
                let by = top + row as i32 * CELL;
                for dy in 0..CELL {
                    for dx in 0..CELL {
                        // Ragged edges: a few pixels of each block are left out.
                        if rng.below(10) > 0 {
                            put(&mut img, bx + dx, by + dy, colour);
                        }
                    }
                }
            }
        }
    }
    for _ in 0..5 {
        let colour = Rgb([rng.below(160) as u8, rng.below(160) as u8, rng.below(160) as u8]);
        let from = (rng.below(40), rng.below(HEIGHT));
        let to = (WIDTH as i32 - 1 - rng.below(40), rng.below(HEIGHT));
        line(&mut img, from, to, colour);
    }
    for _ in 0..250 {
        let (x, y) = (rng.below(WIDTH), rng.below(HEIGHT));
        put(&mut img, x, y, Rgb([rng.below(200) as u8, rng.below(200) as u8, rng.below(200) as u8]));
    }
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_png_that_differs_each_time() {
        let a = render("12345").unwrap();
        let b = render("12345").unwrap();
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_ne!(a, b);
        let decoded = image::load_from_memory(&a).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (WIDTH, HEIGHT));
        assert!(render("12a45").is_err());
    }

    #[test]
    fn glyphs_are_distinct() {
        for (i, a) in GLYPHS.iter().enumerate() {
            assert!(GLYPHS[i + 1..].iter().all(|b| a != b), "glyph {i} repeats");
        }
    }
}
