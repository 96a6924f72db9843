//! The page's plots, drawn on canvases: cosine per epoch for every run with the baselines as
//! horizontal lines, and each model's histogram of per-window validation cosines.

use crate::data::cosine::Histogram;
use crate::experiment::y_axis;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

pub struct Series<'a> {
    pub color: &'a str,
    pub dashed: bool,
    /// (epoch, cosine)
    pub points: Vec<(f64, f64)>,
}

/// The range of a repeated run's seeds per epoch: (epoch, min, max), filled translucent.
pub struct Band<'a> {
    pub color: &'a str,
    pub points: Vec<(f64, f64, f64)>,
}

pub struct Level<'a> {
    pub label: &'a str,
    pub value: f64,
}

const FONT: &str = "12px system-ui, sans-serif";
/// Below this width (a phone) the baselines' labels move inside the plot.
const NARROW: f64 = 600.0;

/// The curves plot's margins on a canvas `w` pixels wide: left (value axis), right (the
/// baselines' labels, or none on a narrow canvas), top, bottom (epoch axis).
fn margins(w: f64) -> (f64, f64, f64, f64) {
    let right = if w < NARROW { 8.0 } else { 170.0 };
    (52.0, right, 14.0, 34.0)
}

/// The epoch (1-based) under a point `css_x` pixels from the curves canvas's left edge, as
/// drawn by [`curves`] with `epochs` on its axis; `None` off the plot.
pub fn epoch_at(canvas: &HtmlCanvasElement, epochs: usize, css_x: f64) -> Option<usize> {
    let w = canvas.width() as f64;
    let (left, right, _, _) = margins(w);
    // The canvas may be shown narrower than it is drawn (max-width: 100%).
    let shown = canvas.get_bounding_client_rect().width().max(1.0);
    let x = css_x * w / shown;
    let e = ((x - left) / (w - left - right) * epochs.max(1) as f64).round();
    (e >= 1.0 && e <= epochs as f64).then_some(e as usize)
}
const AXIS: &str = "#555";
const GRID: &str = "#e4e4e4";

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

fn dash(ctx: &CanvasRenderingContext2d, on: bool) {
    let pattern = if on {
        js_sys::Array::of2(&6.into(), &4.into())
    } else {
        js_sys::Array::new()
    };
    let _ = ctx.set_line_dash(&pattern);
}

/// Blanks a canvas.
pub fn clear(canvas: &HtmlCanvasElement) {
    if let Some(ctx) = context(canvas) {
        ctx.clear_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    }
}

/// The canvas rows (in its own pixels) the curves plot spans, top to bottom: a drag between
/// two rows zooms to the values they show (`experiment::y_axis::zoom`).
pub fn plot_rows(canvas: &HtmlCanvasElement) -> (f64, f64) {
    let (_, _, top, bottom) = margins(canvas.width() as f64);
    (top, canvas.height() as f64 - bottom)
}

/// A pointer's row in the canvas's own pixels, from its CSS offset (the canvas may be shown
/// smaller than it is drawn).
pub fn canvas_row(canvas: &HtmlCanvasElement, css_y: f64) -> f64 {
    let shown = canvas.get_bounding_client_rect().height().max(1.0);
    css_y * canvas.height() as f64 / shown
}

/// Cosine against epoch: one line per series over its seeds' band, the levels dashed across
/// the whole width. The y range is `zoom` when given, else one that shows every value; the
/// range drawn is written on the canvas as `data-y-range` ("lo,hi"), which a drag zooms from,
/// and the plot's frame as `data-frame`.
pub fn curves(
    canvas: &HtmlCanvasElement,
    epochs: usize,
    series: &[Series],
    bands: &[Band],
    levels: &[Level],
    zoom: Option<(f64, f64)>,
) {
    // Drawn at the width it is shown (the page caps it at 900 px), so its 12 px labels stay
    // 12 px on a phone instead of shrinking with a scaled-down canvas.
    let shown = canvas.client_width();
    if shown > 0 && canvas.width() != shown as u32 {
        canvas.set_width(shown as u32);
    }
    let Some(ctx) = context(canvas) else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    let (left, right, top, bottom) = margins(w);
    ctx.clear_rect(0.0, 0.0, w, h);
    ctx.set_font(FONT);
    let (lo, hi) = zoom.unwrap_or_else(|| {
        y_axis::auto_range(
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .chain(
                    bands
                        .iter()
                        .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
                )
                .chain(levels.iter().map(|l| l.value)),
        )
    });
    let _ = canvas.set_attribute("data-y-range", &format!("{lo},{hi}"));
    // Where epoch 0..epochs and lo..hi are drawn, so a test finds a point without knowing the
    // margins: the plot's left, top, right and bottom in canvas pixels, then its epochs.
    let _ = canvas.set_attribute(
        "data-frame",
        &format!("{left},{top},{},{},{epochs}", w - right, h - bottom),
    );
    let epochs = epochs.max(1) as f64;
    let x = |e: f64| left + (w - left - right) * e / epochs;
    let y = |v: f64| top + (h - top - bottom) * (hi - v) / (hi - lo);

    // Grid and axes.
    ctx.set_line_width(1.0);
    dash(&ctx, false);
    for (v, label) in y_axis::ticks((lo, hi)) {
        ctx.set_stroke_style_str(GRID);
        ctx.begin_path();
        ctx.move_to(left, y(v));
        ctx.line_to(w - right, y(v));
        ctx.stroke();
        ctx.set_fill_style_str(AXIS);
        let _ = ctx.fill_text(&label, 4.0, y(v) + 4.0);
    }
    if zoom.is_some() {
        let _ = ctx.fill_text("zoomed: double-click to reset", left + 6.0, top + 12.0);
    }
    let every = (epochs / 10.0).ceil().max(1.0) as usize;
    for e in (0..=epochs as usize).step_by(every) {
        let _ = ctx.fill_text(&e.to_string(), x(e as f64) - 4.0, h - bottom + 16.0);
    }
    let _ = ctx.fill_text("epoch", (w - right) / 2.0, h - 4.0);

    // Baselines, bands and runs, clipped to the plot: zoomed in, they run past it. The
    // baselines' labels sit in the right margin, outside the clip, at their clamped height.
    let clamp_y = |v: f64| y(v).clamp(top, h - bottom);
    // Their labels keep 12 px apart (copy-last and ridge are often 0.01 apart).
    let mut label_y: Vec<(usize, f64)> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| (i, clamp_y(l.value) + 4.0))
        .collect();
    label_y.sort_by(|a, b| a.1.total_cmp(&b.1));
    for k in 1..label_y.len() {
        label_y[k].1 = label_y[k].1.max(label_y[k - 1].1 + 12.0);
    }
    label_y.sort_by_key(|&(i, _)| i);
    for (l, &(_, ly)) in levels.iter().zip(&label_y) {
        ctx.set_fill_style_str("#666");
        let text = format!("{} {:.3}", l.label, l.value);
        if w < NARROW {
            // Inside the plot, right-aligned just above its line.
            ctx.set_text_align("right");
            let _ = ctx.fill_text(&text, w - right - 2.0, ly - 7.0);
            ctx.set_text_align("left");
        } else {
            let _ = ctx.fill_text(&text, w - right + 6.0, ly);
        }
    }
    ctx.save();
    ctx.begin_path();
    ctx.rect(left, top, w - left - right, h - top - bottom);
    ctx.clip();
    for l in levels {
        ctx.set_stroke_style_str("#888");
        dash(&ctx, true);
        ctx.begin_path();
        ctx.move_to(left, y(l.value));
        ctx.line_to(w - right, y(l.value));
        ctx.stroke();
    }

    // Seed bands under the lines.
    ctx.set_global_alpha(0.18);
    for b in bands {
        ctx.set_fill_style_str(b.color);
        ctx.begin_path();
        for (k, &(e, lo, _)) in b.points.iter().enumerate() {
            if k == 0 {
                ctx.move_to(x(e), y(lo));
            } else {
                ctx.line_to(x(e), y(lo));
            }
        }
        for &(e, _, hi) in b.points.iter().rev() {
            ctx.line_to(x(e), y(hi));
        }
        ctx.close_path();
        ctx.fill();
    }
    ctx.set_global_alpha(1.0);

    // Runs.
    ctx.set_line_width(2.0);
    // The legend is HTML beside the canvas (see the page), so labels stay selectable.
    for s in series {
        ctx.set_stroke_style_str(s.color);
        ctx.set_fill_style_str(s.color);
        dash(&ctx, s.dashed);
        ctx.begin_path();
        for (k, &(e, v)) in s.points.iter().enumerate() {
            if k == 0 {
                ctx.move_to(x(e), y(v));
            } else {
                ctx.line_to(x(e), y(v));
            }
        }
        ctx.stroke();
        for &(e, v) in &s.points {
            ctx.fill_rect(x(e) - 2.0, y(v) - 2.0, 4.0, 4.0);
        }
    }
    dash(&ctx, false);
    ctx.restore();
}

/// A histogram of per-window cosines on [-1, 1]: the model's bars over the copy-last
/// baseline's outline.
pub fn histogram(
    canvas: &HtmlCanvasElement,
    model: &Histogram,
    baseline: Option<&Histogram>,
    color: &str,
) {
    let Some(ctx) = context(canvas) else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    let bottom = 16.0;
    ctx.clear_rect(0.0, 0.0, w, h);
    let total = |hist: &Histogram| hist.counts.iter().sum::<u32>().max(1) as f64;
    let peak = model
        .counts
        .iter()
        .map(|&c| c as f64 / total(model))
        .chain(
            baseline
                .into_iter()
                .flat_map(|b| b.counts.iter().map(move |&c| c as f64 / total(b))),
        )
        .fold(1e-9, f64::max);
    let bins = model.counts.len().max(1) as f64;
    let bw = w / bins;
    ctx.set_fill_style_str(color);
    for (i, &c) in model.counts.iter().enumerate() {
        let bh = (h - bottom) * (c as f64 / total(model)) / peak;
        ctx.fill_rect(i as f64 * bw + 0.5, h - bottom - bh, bw - 1.0, bh);
    }
    if let Some(b) = baseline {
        ctx.set_stroke_style_str("#333");
        ctx.set_line_width(1.0);
        ctx.begin_path();
        for (i, &c) in b.counts.iter().enumerate() {
            let y = h - bottom - (h - bottom) * (c as f64 / total(b)) / peak;
            ctx.move_to(i as f64 * bw, y);
            ctx.line_to((i + 1) as f64 * bw, y);
        }
        ctx.stroke();
    }
    ctx.set_font("11px system-ui, sans-serif");
    ctx.set_fill_style_str(AXIS);
    let _ = ctx.fill_text(&format!("{:.0}", model.lo), 0.0, h - 3.0);
    let _ = ctx.fill_text("0", w / 2.0 - 3.0, h - 3.0);
    let _ = ctx.fill_text(&format!("{:.0}", model.hi), w - 8.0, h - 3.0);
}
