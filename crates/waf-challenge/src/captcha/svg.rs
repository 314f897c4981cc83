//! Draws a CAPTCHA answer as an inline SVG: the stroke font, scaled, rotated and shifted per glyph, points
//! jittered, the whole bent by a sine wave, mixed with noise curves, decoy strokes and dots, and the elements
//! shuffled so document order says nothing about reading order.
//!
//! The output has no `<text>` and no ids or titles; every number is printed with one decimal below 1,000, so no
//! run of more than four characters of the markup can spell an answer.

use std::f32::consts::PI;
use std::fmt::Write as _;

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::glyphs::GLYPHS;

/// Horizontal space per glyph.
const CELL: f32 = 38.0;
/// Image height.
const HEIGHT: f32 = 100.0;
/// Display size relative to the drawing's coordinates (larger on screen, same numbers inside).
const ZOOM: f32 = 1.6;

/// Renders glyph indexes (into [`GLYPHS`]) as an SVG document fragment.
pub(crate) fn render(chars: &[usize], rng: &mut StdRng) -> String {
    let width = 24.0 + CELL * chars.len() as f32;
    let amp = rng.random_range(2.0..5.0f32);
    let freq = rng.random_range(0.04..0.09f32);
    let phase = rng.random_range(0.0..2.0 * PI);
    let wave = |x: f32, y: f32| -> (f32, f32) {
        let y = y + amp * (x * freq + phase).sin();
        (x.clamp(0.0, width), y.clamp(0.0, HEIGHT))
    };
    let mut elems: Vec<String> = Vec::new();
    let ink = |rng: &mut StdRng| {
        format!(
            "hsl({},{}%,{}%)",
            rng.random_range(0..360),
            rng.random_range(40..75),
            rng.random_range(18..34)
        )
    };

    for (i, &c) in chars.iter().enumerate() {
        let Some(strokes) = GLYPHS.get(c) else {
            continue;
        };
        let sx = rng.random_range(2.2..2.8f32);
        let sy = rng.random_range(3.0..3.6f32);
        let angle = rng.random_range(-0.4..0.4f32);
        let (sin, cos) = angle.sin_cos();
        let at = Placement {
            sx,
            sy,
            sin,
            cos,
            cx: 12.0 + CELL * (i as f32 + 0.5) + rng.random_range(-4.0..4.0f32),
            cy: HEIGHT / 2.0 + rng.random_range(-6.0..6.0f32),
        };
        let color = ink(rng);
        let sw = rng.random_range(2.6..3.6f32);
        for stroke in *strokes {
            let mut pts = String::new();
            for seg in stroke.windows(2) {
                let (Some(&(x0, y0)), Some(&(x1, y1))) = (seg.first(), seg.get(1)) else {
                    continue;
                };
                for k in 0..3 {
                    let t = k as f32 / 3.0;
                    at.point(
                        &mut pts,
                        rng,
                        (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t),
                        &wave,
                    );
                }
            }
            if let Some(&last) = stroke.last() {
                at.point(&mut pts, rng, last, &wave);
            }
            elems.push(format!(
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{sw:.1}" stroke-linecap="round" stroke-linejoin="round"/>"#,
                pts.trim_end()
            ));
        }
    }
    // noise curves across the whole image
    for _ in 0..6 {
        let (x0, y0) = (
            rng.random_range(0.0..width * 0.3),
            rng.random_range(0.0..HEIGHT),
        );
        let (qx, qy) = (
            rng.random_range(0.0..width),
            rng.random_range(-HEIGHT..HEIGHT * 2.0),
        );
        let (x1, y1) = (
            rng.random_range(width * 0.7..width),
            rng.random_range(0.0..HEIGHT),
        );
        let color = ink(rng);
        let sw = rng.random_range(0.8..2.0f32);
        elems.push(format!(
            r#"<path d="M{x0:.1} {y0:.1}Q{:.1} {:.1} {x1:.1} {y1:.1}" fill="none" stroke="{color}" stroke-width="{sw:.1}"/>"#,
            qx.clamp(0.0, width),
            qy.clamp(0.0, HEIGHT)
        ));
    }
    // short decoy strokes in glyph style
    for _ in 0..3 {
        let mut pts = String::new();
        let (mut x, mut y) = (
            rng.random_range(0.0..width),
            rng.random_range(10.0..HEIGHT - 10.0),
        );
        for _ in 0..3 {
            let _ = write!(
                pts,
                "{:.1},{:.1} ",
                x.clamp(0.0, width),
                y.clamp(0.0, HEIGHT)
            );
            x += rng.random_range(-14.0..14.0f32);
            y += rng.random_range(-14.0..14.0f32);
        }
        let color = ink(rng);
        elems.push(format!(
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{:.1}" stroke-linecap="round"/>"#,
            pts.trim_end(),
            rng.random_range(1.6..2.8f32)
        ));
    }
    for _ in 0..40 {
        let color = ink(rng);
        elems.push(format!(
            r#"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="{color}"/>"#,
            rng.random_range(0.0..width),
            rng.random_range(0.0..HEIGHT),
            rng.random_range(0.8..1.8f32)
        ));
    }
    elems.shuffle(rng);
    let bg = format!(
        "hsl({},{}%,{}%)",
        rng.random_range(0..360),
        rng.random_range(20..50),
        rng.random_range(88..95)
    );
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{zw:.0}" height="{zh:.0}" viewBox="0 0 {w:.0} {h:.0}" role="img" aria-label="puzzle image"><rect width="{w:.0}" height="{h:.0}" fill="{bg}"/>"#,
        w = width,
        h = HEIGHT,
        zw = width * ZOOM,
        zh = HEIGHT * ZOOM
    );
    for e in elems {
        out.push_str(&e);
    }
    out.push_str("</svg>");
    out
}

/// Where and how one glyph is drawn: scale, rotation and centre.
struct Placement {
    sx: f32,
    sy: f32,
    sin: f32,
    cos: f32,
    cx: f32,
    cy: f32,
}

impl Placement {
    /// Appends the image coordinates of grid point `(gx, gy)`, jittered, placed and bent by `wave`.
    fn point(
        &self,
        out: &mut String,
        rng: &mut StdRng,
        (gx, gy): (f32, f32),
        wave: &dyn Fn(f32, f32) -> (f32, f32),
    ) {
        let lx = (gx - 5.0 + rng.random_range(-0.35..0.35f32)) * self.sx;
        let ly = (gy - 7.0 + rng.random_range(-0.35..0.35f32)) * self.sy;
        let (x, y) = wave(
            self.cx + lx * self.cos - ly * self.sin,
            self.cy + lx * self.sin + ly * self.cos,
        );
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
}
