//! A trade-off chart: one point per cell and policy, each metric's mean with its 95%
//! interval as error bars on both axes, the point's colour and marker those of its policy
//! (as on the other charts), and beside it a label naming its cell, placed where it covers
//! no marker, no error bar and no other label when there is such a place near the point.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::scale::Scale;
use super::{axes, look, marker, titled, with_legend, DrawResult};

/// A mean and its 95% interval (NaN ends when there is none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Estimate {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// One cell and policy: its label and the two metrics.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TradeOffPoint {
    pub label: String,
    pub x: Estimate,
    pub y: Estimate,
}

/// The points of one policy.
#[derive(Clone, Debug)]
pub(crate) struct TradeOffSeries {
    pub name: String,
    /// Position of the policy in the sweep: its colour and marker.
    pub index: usize,
    pub points: Vec<TradeOffPoint>,
}

/// Points, unjoined, on two axes.
#[derive(Debug)]
pub(crate) struct ScatterChart {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<TradeOffSeries>,
    /// Draw x on a log scale.
    pub x_log: bool,
    /// Draw y on a log scale.
    pub y_log: bool,
}

/// Size of a label's text, in pixels.
const LABEL_TEXT: u32 = 13;

/// Half the side of the box a marker covers, in pixels.
const MARKER_REACH: i32 = 7;

/// A box in pixels: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

pub(super) fn scatter_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &ScatterChart,
) -> DrawResult<DB> {
    let area = titled(root, &c.title, &c.subtitle)?;
    let (plot, column) = with_legend(&area, c.series.iter().map(|s| s.name.as_str()));
    let points = || c.series.iter().flat_map(|s| s.points.iter());
    let ends = |e: &Estimate| [e.mean, e.lo, e.hi];
    let x = match c.x_log {
        true => Scale::log(points().flat_map(|p| ends(&p.x))),
        false => Scale::linear(points().flat_map(|p| ends(&p.x)), false),
    };
    let y = match c.y_log {
        true => Scale::log(points().flat_map(|p| ends(&p.y))),
        false => Scale::linear(points().flat_map(|p| ends(&p.y)), true),
    };
    let chart = axes(&plot, (&x, &y), (Some(&c.x_label), &c.y_label), (17, 14), 1)?;
    let pixel = |xv: f64, yv: f64| chart.backend_coord(&(x.position(xv), y.position(yv)));
    // Error bars with short caps, then the markers over them.
    let mut bars: Vec<Rect> = Vec::new();
    for s in &c.series {
        let style = look(s.index).colour.mix(0.6).stroke_width(1);
        for p in &s.points {
            let (px, py) = pixel(p.x.mean, p.y.mean);
            if p.x.lo.is_finite() && p.x.hi.is_finite() {
                let (a, b) = (pixel(p.x.lo, p.y.mean).0, pixel(p.x.hi, p.y.mean).0);
                root.draw(&PathElement::new(vec![(a, py), (b, py)], style))?;
                bars.push((a.min(b), py - 3, a.max(b), py + 3));
                for end in [a, b] {
                    root.draw(&PathElement::new(vec![(end, py - 3), (end, py + 3)], style))?;
                }
            }
            if p.y.lo.is_finite() && p.y.hi.is_finite() {
                let (a, b) = (pixel(p.x.mean, p.y.lo).1, pixel(p.x.mean, p.y.hi).1);
                root.draw(&PathElement::new(vec![(px, a), (px, b)], style))?;
                bars.push((px - 3, a.min(b), px + 3, a.max(b)));
                for end in [a, b] {
                    root.draw(&PathElement::new(vec![(px - 3, end), (px + 3, end)], style))?;
                }
            }
        }
    }
    let mut anchors = Vec::new();
    let mut labels = Vec::new();
    for s in &c.series {
        for p in &s.points {
            let at = pixel(p.x.mean, p.y.mean);
            marker(root, at, look(s.index))?;
            anchors.push(at);
            labels.push((p.label.clone(), s.index));
        }
    }
    let font: TextStyle = ("sans-serif", LABEL_TEXT).into();
    let sizes: Vec<(i32, i32)> = labels
        .iter()
        .map(|(text, _)| {
            let (w, h) = root.estimate_text_size(text, &font).unwrap_or((0, LABEL_TEXT));
            (w as i32, h as i32)
        })
        .collect();
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let corners = place_labels(&anchors, &sizes, &bars, (xs.start, ys.start, xs.end, ys.end));
    for (((text, index), corner), (&at, &(w, h))) in
        labels.iter().zip(corners).zip(anchors.iter().zip(&sizes))
    {
        let colour = look(*index).colour;
        // A label placed away from its point (where the points crowd) is tied to it.
        let near = nearest((corner.0, corner.1, corner.0 + w, corner.1 + h), at);
        let (dx, dy) = (near.0 - at.0, near.1 - at.1);
        if dx * dx + dy * dy > (MARKER_REACH + 6).pow(2) {
            root.draw(&PathElement::new(vec![at, near], colour.mix(0.5).stroke_width(1)))?;
        }
        let style = font.clone().color(&colour);
        root.draw(&Text::new(text.clone(), corner, style))?;
    }
    // The legend: each policy's marker and name, top down.
    let (x0, y0) = column.get_base_pixel();
    for (i, s) in c.series.iter().enumerate() {
        let row = y0 + 22 + 24 * i as i32;
        marker(root, (x0 + 29, row), look(s.index))?;
        let style = ("sans-serif", 15).into_font().color(&BLACK);
        root.draw(&Text::new(s.name.clone(), (x0 + 62, row - 8), style))?;
    }
    Ok(())
}

/// The top-left corner of each label (of its `sizes`, in pixels) beside its anchor (a
/// marker's centre): of the places tried around the anchor, nearest first, the first that
/// overlaps no marker, none of the `bars`, no label placed before and stays inside `bounds`;
/// when none does, the one overlapping least.
fn place_labels(
    anchors: &[(i32, i32)],
    sizes: &[(i32, i32)],
    bars: &[Rect],
    bounds: Rect,
) -> Vec<(i32, i32)> {
    let overlap = |a: Rect, b: Rect| {
        let w = (a.2.min(b.2) - a.0.max(b.0)).max(0);
        let h = (a.3.min(b.3) - a.1.max(b.1)).max(0);
        i64::from(w) * i64::from(h)
    };
    let mut covered: Vec<Rect> = anchors.iter().map(|&at| marker_box(at)).collect();
    covered.extend(bars);
    let mut placed: Vec<Rect> = Vec::new();
    for (&(x, y), &(w, h)) in anchors.iter().zip(sizes) {
        let gap = MARKER_REACH + 2;
        let (right, left, middle) = (x + gap, x - gap - w, y - h / 2);
        let mut tries = vec![
            (right, middle),
            (left, middle),
            (x - w / 2, y - gap - h),
            (x - w / 2, y + gap),
            (right, y - gap - h + 2),
            (right, y + gap - 2),
            (left, y - gap - h + 2),
            (left, y + gap - 2),
        ];
        // Then further up and down beside the point.
        for k in 1..=3 {
            for side in [right, left] {
                tries.push((side, middle - k * (h + 2)));
                tries.push((side, middle + k * (h + 2)));
            }
        }
        let cost = |&(cx, cy): &(i32, i32)| {
            let rect = (cx, cy, cx + w, cy + h);
            let outside = i64::from(w) * i64::from(h)
                - overlap(rect, bounds).min(i64::from(w) * i64::from(h));
            let hidden: i64 = covered.iter().chain(&placed).map(|&r| overlap(rect, r)).sum();
            // Leaving the data area is worse than covering something.
            4 * outside + hidden
        };
        let best =
            tries.iter().find(|t| cost(t) == 0).or_else(|| tries.iter().min_by_key(|t| cost(t)));
        let &(cx, cy) = best.expect("there are places to try");
        placed.push((cx, cy, cx + w, cy + h));
    }
    placed.iter().map(|r| (r.0, r.1)).collect()
}

/// The pixel of `rect` nearest to `at`.
fn nearest(rect: Rect, at: (i32, i32)) -> (i32, i32) {
    (at.0.clamp(rect.0, rect.2), at.1.clamp(rect.1, rect.3))
}

/// The box a marker centred on `(x, y)` covers.
fn marker_box((x, y): (i32, i32)) -> Rect {
    (x - MARKER_REACH, y - MARKER_REACH, x + MARKER_REACH, y + MARKER_REACH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apart(a: Rect, b: Rect) -> bool {
        a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1
    }

    #[test]
    fn labels_go_right_of_their_point_unless_that_covers_something() {
        let bounds = (0, 0, 400, 300);
        // A lone point: its label right of it, centred on it.
        assert_eq!(place_labels(&[(100, 100)], &[(40, 14)], &[], bounds), [(109, 93)]);
        // Near the right edge: left of it.
        assert_eq!(place_labels(&[(390, 100)], &[(40, 14)], &[], bounds), [(341, 93)]);
        // With its own x error bar reaching 80 px right: not over the bar.
        let bar = (60, 97, 180, 103);
        let corner = place_labels(&[(100, 100)], &[(40, 14)], &[bar], bounds)[0];
        assert!(apart((corner.0, corner.1, corner.0 + 40, corner.1 + 14), bar), "{corner:?}");
        // Two points 6 px apart vertically (two policies of one cell): the labels do not
        // overlap each other nor either marker.
        let anchors = [(100, 100), (100, 106)];
        let corners = place_labels(&anchors, &[(40, 14), (40, 14)], &[], bounds);
        let rect = |(x, y): (i32, i32)| (x, y, x + 40, y + 14);
        let (a, b) = (rect(corners[0]), rect(corners[1]));
        assert!(apart(a, b), "{a:?} and {b:?} overlap");
        for r in [a, b] {
            for &at in &anchors {
                assert!(apart(r, marker_box(at)), "{r:?} covers the marker at {at:?}");
            }
        }
    }
}
