//! Drawing with plotters: one function per kind of chart, generic over the backend, so the
//! same code renders the PNG (in memory, encoded with `image`) and the SVG (a string).
//!
//! What a reader needs to tell lines apart is never colour alone: each series has its own
//! colour, line dash and marker shape ([`look`]), and the legend sits in a column right of
//! the data area, where it hides nothing. Axes are [`Scale`]s with ticks at round numbers;
//! a log axis is drawn as the log10 of its values, ticked at 1, 2 and 5 times powers of ten
//! and labelled with the values themselves.

use std::ops::Range;
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans (Bitstream Vera license, see assets/fonts/DejaVuSans-LICENSE.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Okabe-Ito colours, distinguishable with the common colour-vision deficiencies; their
/// yellow is darkened to olive, which white paper does not swallow.
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(150, 135, 0),
];

/// Line dashes as (dash, gap) in pixels; `None` is a solid line. Consecutive series (whose
/// values are often close) get patterns far apart.
const DASHES: [Option<(u32, u32)>; 4] = [None, Some((14, 6)), Some((3, 4)), Some((8, 4))];

/// Marker shapes, one per policy of the eight built in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Ring,
    Cross,
    Plus,
}

const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Ring,
    Marker::Cross,
    Marker::Plus,
];

/// How a series is drawn: colour, dash and marker, all three different for any two of the
/// first eight series.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Look {
    colour: RGBColor,
    dash: Option<(u32, u32)>,
    marker: Marker,
}

fn look(i: usize) -> Look {
    Look {
        colour: COLOURS[i % COLOURS.len()],
        dash: DASHES[i % DASHES.len()],
        marker: MARKERS[i % MARKERS.len()],
    }
}

/// Makes the embedded font the one plotters uses for `sans-serif`.
pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font("sans-serif", style, FONT).is_err() {
                unreachable!("the embedded font is a valid TrueType file");
            }
        }
    });
}

/// A point with its 95% interval (NaN when none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
}

/// One line: a policy.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub name: String,
    /// Position of the policy in the sweep: its colour, dash and marker.
    pub index: usize,
    pub points: Vec<Point>,
}

/// Lines against an x axis, with bands.
#[derive(Debug)]
pub(crate) struct LineChart {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Names of the x positions 0, 1, ... when the swept values are not numbers.
    pub x_categories: Option<Vec<String>>,
    /// Draw x on a log scale (the values must be positive).
    pub x_log: bool,
    /// Draw y on a log scale (the values must be positive; interval ends at or below 0 are
    /// drawn at the bottom of the axis).
    pub y_log: bool,
    /// The y range, when it is fixed (a share from 0 to 1) rather than taken from the data.
    pub y_range: Option<(f64, f64)>,
    /// Shift each series sideways by a few pixels (lines, markers and error bars, not the
    /// bands), so that series with equal values at the same x stay visible side by side.
    pub dodge: bool,
}

/// Pixels between neighbouring series when they are dodged.
pub(crate) const DODGE_PX: i32 = 3;

/// One run over time.
#[derive(Debug)]
pub(crate) struct TimeSeries {
    pub title: String,
    pub starts: Vec<f64>,
    pub window_s: f64,
    pub goodput: Vec<f64>,
    pub failures: Option<Vec<f64>>,
    pub queues: Vec<(String, Vec<f64>)>,
    pub fault_spans: Vec<(f64, f64)>,
    pub spike_spans: Vec<(f64, f64)>,
}

/// What to draw.
#[derive(Debug)]
pub(crate) enum Chart {
    Lines(LineChart),
    Series(TimeSeries),
}

/// Renders `chart` as PNG bytes and SVG text.
pub(crate) fn render(size: (u32, u32), chart: &Chart) -> Result<(Vec<u8>, String), String> {
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let image = image::RgbImage::from_raw(size.0, size.1, pixels)
        .expect("the buffer has width * height * 3 bytes");
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok((png, svg))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    match chart {
        Chart::Lines(c) => line_chart(root, c),
        Chart::Series(t) => time_series_chart(root, t),
    }
    .map_err(|e| e.to_string())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// One axis: the range drawn (the log10 of the values on a log axis) and its labelled ticks.
#[derive(Clone, Debug, PartialEq)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    /// (position drawn, label).
    ticks: Vec<(f64, String)>,
}

impl Scale {
    /// A linear axis over the finite `values`, padded by 5% (widened when flat); from 0 when
    /// the values are positive and 0 is not far below them.
    fn linear(values: impl Iterator<Item = f64>, from_zero: bool) -> Scale {
        let (lo, hi) = bounds(values);
        let lo = if from_zero && lo > 0.0 && lo < (hi - lo) * 0.5 { 0.0 } else { lo };
        Scale::fixed(lo, hi)
    }

    /// A linear axis from `lo` to `hi`.
    fn fixed(lo: f64, hi: f64) -> Scale {
        Scale { lo, hi, log: false, ticks: linear_ticks(lo, hi) }
    }

    /// A log axis over the positive finite `values`, padded by 5% of its decades.
    fn log(values: impl Iterator<Item = f64>) -> Scale {
        let (lo, hi) = bounds(values.filter(|v| *v > 0.0).map(f64::log10));
        Scale { lo, hi, log: true, ticks: log_ticks(lo, hi) }
    }

    /// Positions 0, 1, ... named by `names`.
    fn categories(names: &[String]) -> Scale {
        let hi = names.len().max(1) as f64 - 1.0;
        let pad = (hi * 0.05).max(0.3);
        let ticks = names.iter().enumerate().map(|(i, n)| (i as f64, n.clone())).collect();
        Scale { lo: -pad, hi: hi + pad, log: false, ticks }
    }

    /// Where `value` is drawn; a value a log axis cannot show (0 or less) is drawn at its
    /// bottom, and NaN stays NaN.
    fn position(&self, value: f64) -> f64 {
        match self.log {
            true if value > 0.0 => value.log10(),
            true if value.is_nan() => value,
            true => self.lo,
            false => value,
        }
    }

    fn label(&self, position: f64) -> String {
        let near = 1e-9 * (self.hi - self.lo).abs().max(1e-300);
        let tick = self.ticks.iter().find(|(p, _)| (p - position).abs() <= near);
        tick.map(|(_, label)| label.clone()).unwrap_or_default()
    }
}

impl Ranged for Scale {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    /// The ticks, for the labelled lines; no lighter lines between them.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.iter().map(|(p, _)| *p).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// `(min, max)` of finite values, widened when flat (from 0 to 1 when all are 0) and padded
/// by 5%.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo == 0.0 && hi == 0.0 {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.1).max(1e-3);
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// Ticks every 1, 2, 2.5 or 5 times a power of ten, about six of them over `[lo, hi]`,
/// labelled with as many decimals as the step needs.
fn linear_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let raw = (hi - lo) / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * magnitude);
    let decimals = (0..=12)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(12) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            // `+ 0.0` turns -0 into 0, so no label reads "-0".
            (v, format!("{:.decimals$}", v + 0.0))
        })
        .collect()
}

/// Ticks of a log axis drawn from `lo` to `hi` (log10 of the values): at powers of ten,
/// and at 2 and 5 times them (or every integer multiple) when that leaves fewer than four.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let decades = lo.floor() as i32..=hi.ceil() as i32;
    let at = |mantissas: &[u32]| -> Vec<(f64, String)> {
        decades
            .clone()
            .flat_map(|k| mantissas.iter().map(move |&m| (m, k)))
            .filter_map(|(m, k)| {
                let position = f64::from(m).log10() + f64::from(k);
                (lo <= position && position <= hi).then(|| (position, power_label(m, k)))
            })
            .collect()
    };
    let mut ticks = at(&[1]);
    if ticks.len() < 4 {
        ticks = at(&[1, 2, 5]);
    }
    if ticks.len() < 4 {
        ticks = at(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    // Many decades: every other power of ten, and so on, up to about ten labels.
    let every = ticks.len().div_ceil(10).max(1);
    ticks.into_iter().step_by(every).collect()
}

/// `m * 10^k` written out: 2000, 0.05, or 5e9 when that would be long.
fn power_label(m: u32, k: i32) -> String {
    match k {
        0..=6 => (u64::from(m) * 10u64.pow(k as u32)).to_string(),
        -6..=-1 => format!("{:.*}", (-k) as usize, f64::from(m) * 10f64.powi(k)),
        _ => format!("{m}e{k}"),
    }
}

/// Draws the title and the subtitle (one line per `\n`) above the rest of `root`.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let lines: Vec<&str> = subtitle.lines().collect();
    let (top, rest) = root.split_vertically(44 + 19 * lines.len() as u32);
    top.draw(&Text::new(title.to_owned(), (20, 10), ("sans-serif", 24).into_font().color(&BLACK)))?;
    for (i, line) in lines.iter().enumerate() {
        let font = ("sans-serif", 15).into_font().color(&RGBColor(90, 90, 90));
        top.draw(&Text::new((*line).to_owned(), (20, 40 + 19 * i as i32), font))?;
    }
    Ok(rest)
}

/// Width of the legend column right of the data area, in pixels.
const LEGEND_WIDTH: u32 = 200;

/// Splits `area` into the data area and the legend column right of it.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let width = area.dim_in_pixel().0;
    area.split_horizontally(width.saturating_sub(LEGEND_WIDTH))
}

/// A chart drawn on two [`Scale`]s.
type ScaledChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Scale, Scale>>;

/// A chart with labelled axes on `area`: ticks, grid lines, axis titles.
fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x, y): (&Scale, &Scale),
    (x_label, y_label): (Option<&str>, &str),
    text: (u32, u32),
) -> Result<ScaledChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(12)
        .margin_bottom(8)
        .margin_left(12)
        .margin_right(24)
        .x_label_area_size(if x_label.is_some() { 50 } else { 24 })
        .y_label_area_size(80)
        .build_cartesian_2d(x.clone(), y.clone())?;
    let (x_scale, y_scale) = (x.clone(), y.clone());
    let format_x = move |v: &f64| x_scale.label(*v);
    let format_y = move |v: &f64| y_scale.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_label)
        .x_label_formatter(&format_x)
        .y_label_formatter(&format_y)
        .axis_desc_style(("sans-serif", text.0))
        .label_style(("sans-serif", text.1))
        .bold_line_style(RGBColor(228, 228, 228));
    if let Some(x_label) = x_label {
        mesh.x_desc(x_label);
    }
    mesh.draw()?;
    Ok(chart)
}

/// Draws a polyline through pixel `points` in `look`'s colour and dash.
fn stroke<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: Vec<(i32, i32)>,
    look: Look,
    width: u32,
) -> DrawResult<DB> {
    let style = look.colour.stroke_width(width);
    match look.dash {
        None => root.draw(&PathElement::new(points, style)),
        Some((dash, gap)) => root.draw(&DashedPathElement::new(points, dash, gap, style)),
    }
}

/// Draws `look`'s marker centred on pixel `(x, y)`.
fn marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    look: Look,
) -> DrawResult<DB> {
    let (fill, line) = (look.colour.filled(), look.colour.stroke_width(2));
    let r = 5;
    match look.marker {
        Marker::Circle => root.draw(&Circle::new((x, y), r, fill)),
        // Larger than the rest, so that it rings a marker drawn on the same spot.
        Marker::Ring => root.draw(&Circle::new((x, y), r + 2, line)),
        Marker::Square => root.draw(&Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], fill)),
        Marker::Diamond => root.draw(&Polygon::new(
            vec![(x, y - r - 1), (x + r, y), (x, y + r + 1), (x - r, y)],
            fill,
        )),
        Marker::TriangleUp => root.draw(&Polygon::new(
            vec![(x, y - r - 1), (x + r, y + r - 1), (x - r, y + r - 1)],
            fill,
        )),
        Marker::TriangleDown => root.draw(&Polygon::new(
            vec![(x, y + r + 1), (x + r, y - r + 1), (x - r, y - r + 1)],
            fill,
        )),
        Marker::Cross => {
            root.draw(&PathElement::new(vec![(x - r, y - r), (x + r, y + r)], line))?;
            root.draw(&PathElement::new(vec![(x - r, y + r), (x + r, y - r)], line))
        }
        Marker::Plus => {
            root.draw(&PathElement::new(vec![(x - r - 1, y), (x + r + 1, y)], line))?;
            root.draw(&PathElement::new(vec![(x, y - r - 1), (x, y + r + 1)], line))
        }
    }
}

/// The legend column: a sample of each line (dash and marker) and its name, top down.
fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    column: &DrawingArea<DB, Shift>,
    entries: &[(String, Look)],
    markers: bool,
    text: u32,
) -> DrawResult<DB> {
    let (x0, y0) = column.get_base_pixel();
    let row = text as i32 + 9;
    for (i, (name, look)) in entries.iter().enumerate() {
        let y = y0 + 22 + row * i as i32;
        stroke(root, vec![(x0 + 4, y), (x0 + 54, y)], *look, 2)?;
        if markers {
            marker(root, (x0 + 29, y), *look)?;
        }
        let font = ("sans-serif", text).into_font().color(&BLACK);
        root.draw(&Text::new(name.clone(), (x0 + 62, y - text as i32 / 2 - 1), font))?;
    }
    Ok(())
}

fn line_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LineChart) -> DrawResult<DB> {
    let area = titled(root, &c.title, &c.subtitle)?;
    let (plot, column) = with_legend(&area);
    let points = || c.series.iter().flat_map(|s| s.points.iter());
    let x = match (&c.x_categories, c.x_log) {
        (Some(names), _) => Scale::categories(names),
        (None, true) => Scale::log(points().map(|p| p.x)),
        (None, false) => Scale::linear(points().map(|p| p.x), false),
    };
    let y = match (c.y_range, c.y_log) {
        (Some((lo, hi)), _) => Scale::fixed(lo, hi),
        (None, true) => Scale::log(points().flat_map(|p| [p.y, p.lo, p.hi])),
        // A ratio axis that may reach 0 reads better anchored at 0.
        (None, false) => Scale::linear(points().flat_map(|p| [p.y, p.lo, p.hi]), true),
    };
    let mut chart = axes(&plot, (&x, &y), (Some(&c.x_label), &c.y_label), (17, 14))?;
    let at = |x_value: f64, y_value: f64| (x.position(x_value), y.position(y_value));
    // Bands first, so that no band covers another series' line.
    for s in &c.series {
        let band: Vec<&Point> =
            s.points.iter().filter(|p| p.lo.is_finite() && p.hi.is_finite()).collect();
        if band.len() >= 2 {
            let mut outline: Vec<(f64, f64)> = band.iter().map(|p| at(p.x, p.hi)).collect();
            outline.extend(band.iter().rev().map(|p| at(p.x, p.lo)));
            let fill = look(s.index).colour.mix(0.12).filled();
            chart.draw_series(std::iter::once(Polygon::new(outline, fill)))?;
        }
    }
    let n = c.series.len();
    let shift = |k: usize| {
        if c.dodge {
            k as i32 * DODGE_PX - (n as i32 - 1) * DODGE_PX / 2
        } else {
            0
        }
    };
    let pixels = |k: usize, p: &Point, y_value: f64| {
        let (px, py) = chart.backend_coord(&at(p.x, y_value));
        (px + shift(k), py)
    };
    for (k, s) in c.series.iter().enumerate() {
        let look = look(s.index);
        // Error bars, so an interval is visible even at a single point.
        for p in s.points.iter().filter(|p| p.lo.is_finite() && p.hi.is_finite()) {
            let bar = vec![pixels(k, p, p.lo), pixels(k, p, p.hi)];
            root.draw(&PathElement::new(bar, look.colour.mix(0.6).stroke_width(1)))?;
        }
        let line: Vec<(i32, i32)> =
            s.points.iter().filter(|p| p.y.is_finite()).map(|p| pixels(k, p, p.y)).collect();
        stroke(root, line, look, 2)?;
    }
    for (k, s) in c.series.iter().enumerate() {
        for p in s.points.iter().filter(|p| p.y.is_finite()) {
            marker(root, pixels(k, p, p.y), look(s.index))?;
        }
    }
    let entries: Vec<(String, Look)> =
        c.series.iter().map(|s| (s.name.clone(), look(s.index))).collect();
    legend(root, &column, &entries, true, 15)
}

fn time_series_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: &TimeSeries,
) -> DrawResult<DB> {
    let subtitle =
        format!("windows of {} s; red shading: fault active, yellow: traffic spike", t.window_s);
    let area = titled(root, &format!("Time series of one {}", t.title), &subtitle)?;
    // (axis name, named lines) per panel.
    type Panel<'a> = (&'a str, Vec<(String, &'a Vec<f64>)>);
    let mut panels: Vec<Panel<'_>> = Vec::new();
    let mut rates = vec![("completions".to_owned(), &t.goodput)];
    if let Some(f) = &t.failures {
        rates.push(("failures".to_owned(), f));
    }
    panels.push(("jobs/s", rates));
    if !t.queues.is_empty() {
        panels.push((
            "queue length (requests)",
            t.queues.iter().map(|(n, v)| (n.clone(), v)).collect(),
        ));
    }
    let parts = area.split_evenly((panels.len(), 1));
    let x1 = t.starts.last().copied().unwrap_or(1.0) + t.window_s;
    let x = Scale::fixed(0.0, x1);
    for (i, (panel, (y_label, lines))) in parts.iter().zip(&panels).enumerate() {
        let (plot, column) = with_legend(panel);
        let y = Scale::linear(lines.iter().flat_map(|(_, v)| v.iter().copied()).chain([0.0]), true);
        let last = i + 1 == panels.len();
        let x_label = last.then_some("simulated time (s)");
        let mut chart = axes(&plot, (&x, &y), (x_label, y_label), (15, 13))?;
        let shade = |spans: &[(f64, f64)], col: RGBColor| {
            spans
                .iter()
                .map(move |&(a, b)| Rectangle::new([(a, y.lo), (b, y.hi)], col.mix(0.25).filled()))
                .collect::<Vec<_>>()
        };
        chart.draw_series(shade(&t.fault_spans, RGBColor(220, 50, 47)))?;
        chart.draw_series(shade(&t.spike_spans, RGBColor(230, 190, 0)))?;
        let mut entries = Vec::new();
        for (k, (name, values)) in lines.iter().enumerate() {
            let pts: Vec<(i32, i32)> = t
                .starts
                .iter()
                .zip(values.iter())
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, &v)| chart.backend_coord(&(x + t.window_s / 2.0, v)))
                .collect();
            stroke(root, pts, look(k), 2)?;
            entries.push((name.clone(), look(k)));
        }
        legend(root, &column, &entries, false, 13)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &[(f64, String)]) -> Vec<&str> {
        ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn linear_ticks_are_round_numbers() {
        assert_eq!(labels(&linear_ticks(0.0, 2000.0)), ["0", "500", "1000", "1500", "2000"]);
        assert_eq!(labels(&linear_ticks(-0.04, 1.04)), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(labels(&linear_ticks(0.9, 1.1))[0], "0.90");
        assert!(linear_ticks(-1.0, 1.0).iter().all(|(_, l)| l != "-0"));
    }

    #[test]
    fn log_ticks_are_one_two_five_times_powers_of_ten() {
        let (lo, hi) = (200f64.log10(), 3000f64.log10());
        assert_eq!(labels(&log_ticks(lo, hi)), ["200", "500", "1000", "2000"]);
        let (lo, hi) = (0.01f64.log10(), 1e4f64.log10());
        assert_eq!(labels(&log_ticks(lo, hi)), ["0.01", "0.1", "1", "10", "100", "1000", "10000"]);
        assert_eq!(power_label(5, -2), "0.05");
        assert_eq!(power_label(2, 9), "2e9");
    }

    #[test]
    fn a_log_scale_draws_the_log_and_puts_what_it_cannot_show_at_the_bottom() {
        let scale = Scale::log([1.0, 1000.0].into_iter());
        assert!((scale.position(100.0) - 2.0).abs() < 1e-12);
        assert_eq!(scale.position(0.0), scale.lo);
        assert_eq!(scale.position(-3.0), scale.lo);
        assert_eq!(scale.label(2.0), "100");
    }

    #[test]
    fn the_eight_policies_differ_in_colour_dash_and_marker_from_their_neighbours() {
        for i in 0..8 {
            for j in 0..i {
                let (a, b) = (look(i), look(j));
                assert_ne!(a.colour, b.colour, "{i} and {j}");
                assert_ne!(a.marker, b.marker, "{i} and {j}");
            }
            assert_ne!(look(i).dash, look((i + 1) % 8).dash, "{i} and the next");
        }
    }
}
