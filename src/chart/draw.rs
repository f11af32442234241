//! Drawing with plotters: one function per kind of chart, generic over the backend, so the
//! same code renders the PNG (in memory, encoded with `image`) and the SVG (a string).
//!
//! What a reader needs to tell lines apart is never colour alone: each series has its own
//! colour, line dash and marker shape ([`look`]), and the legend sits in a column right of
//! the data area, where it hides nothing. Axes are [`Scale`]s with ticks at round numbers;
//! a log axis is drawn as the log10 of its values, ticked at 1, 2 and 5 times powers of ten
//! and labelled with the values themselves. Names of categories on an x axis that would
//! overlap alternate between two rows, shortened if they still would.

mod look;
mod scale;
mod scatter;

use std::sync::Once;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use look::{look, Look, Marker};
use scale::Scale;
pub(crate) use scatter::{Estimate, ScatterChart, TradeOffPoint, TradeOffSeries};

/// DejaVu Sans (Bitstream Vera license, see assets/fonts/DejaVuSans-LICENSE.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

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
    /// Ringed, for what [`LineChart::flag_note`] says (jobs the figure leaves out).
    pub flagged: bool,
}

impl Point {
    /// A point without an interval, not flagged.
    pub(crate) fn at(x: f64, y: f64) -> Point {
        Point { x, y, lo: f64::NAN, hi: f64::NAN, flagged: false }
    }
}

/// One line: a policy.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub name: String,
    /// Position of the policy in the sweep: its colour, dash and marker.
    pub index: usize,
    pub points: Vec<Point>,
    /// A second line under the name in the legend.
    pub note: Option<String>,
}

/// A value marked across the data area (a deadline), with its label.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Mark {
    pub at: f64,
    pub label: String,
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
    /// Draw a marker every [`SPARSE_PX`] pixels along a line rather than at every point
    /// (for lines of hundreds of points).
    pub sparse_markers: bool,
    /// Values of x marked by a vertical line (inside the x range drawn).
    pub x_marks: Vec<Mark>,
    /// Values of y marked by a horizontal line (inside the y range drawn).
    pub y_marks: Vec<Mark>,
    /// What a ring around a point means, said in the legend (when any point is flagged).
    pub flag_note: Option<String>,
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
    /// Provisioned replicas per service (time average per window) when agents changed them;
    /// empty otherwise, and then no panel shows them.
    pub replicas: Vec<(String, Vec<f64>)>,
    /// The wasted share of the service time decided per window, when any was wasted (no
    /// panel otherwise).
    pub wasted: Option<Vec<f64>>,
    pub fault_spans: Vec<(f64, f64)>,
    pub spike_spans: Vec<(f64, f64)>,
}

/// What to draw.
#[derive(Debug)]
pub(crate) enum Chart {
    Lines(LineChart),
    Series(TimeSeries),
    Scatter(ScatterChart),
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
        Chart::Scatter(s) => scatter::scatter_chart(root, s),
    }
    .map_err(|e| e.to_string())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

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

/// Width of the legend column right of the data area, in pixels, for names of up to 17
/// characters; longer names widen it by [`LEGEND_PX_PER_CHAR`] each.
const LEGEND_WIDTH: u32 = 200;
const LEGEND_PX_PER_CHAR: u32 = 9;

/// Splits `area` into the data area and the legend column right of it, wide enough for
/// the longest of `names`.
fn with_legend<'n, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: impl IntoIterator<Item = &'n str>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let longest = names.into_iter().map(|n| n.chars().count() as u32).max().unwrap_or(0);
    let legend = LEGEND_WIDTH + longest.saturating_sub(17) * LEGEND_PX_PER_CHAR;
    let width = area.dim_in_pixel().0;
    area.split_horizontally(width.saturating_sub(legend))
}

/// A chart drawn on two [`Scale`]s.
type ScaledChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Scale, Scale>>;

/// Pixels of a chart's area left and right of its data: margins and the y labels.
const INSET_X: u32 = 12 + 24 + 80;

/// Height of a row of x labels, in pixels.
const LABEL_ROW: u32 = 18;

/// A chart with labelled axes on `area`: ticks, grid lines, axis titles; `x_rows` rows of
/// x labels (those of the first drawn here, the others by the caller).
fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x, y): (&Scale, &Scale),
    (x_label, y_label): (Option<&str>, &str),
    text: (u32, u32),
    x_rows: u32,
) -> Result<ScaledChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let extra = LABEL_ROW * x_rows.saturating_sub(1);
    let mut chart = ChartBuilder::on(area)
        .margin_top(12)
        .margin_bottom(8)
        .margin_left(12)
        .margin_right(24)
        .x_label_area_size(if x_label.is_some() { 50 } else { 24 } + extra)
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
    entries: &[LegendEntry],
    markers: bool,
    text: u32,
) -> DrawResult<DB> {
    let (x0, y0) = column.get_base_pixel();
    let mut y = y0 + 22;
    for entry in entries {
        stroke(root, vec![(x0 + 4, y), (x0 + 54, y)], entry.look, 2)?;
        if markers {
            marker(root, (x0 + 29, y), entry.look)?;
        }
        let font = ("sans-serif", text).into_font().color(&BLACK);
        root.draw(&Text::new(entry.name.clone(), (x0 + 62, y - text as i32 / 2 - 1), font))?;
        if let Some(note) = &entry.note {
            let font = ("sans-serif", text - 3).into_font().color(&RGBColor(90, 90, 90));
            root.draw(&Text::new(note.clone(), (x0 + 62, y + text as i32 / 2 + 2), font))?;
        }
        y += legend_row(entry, text);
    }
    Ok(())
}

/// One line of a legend: a name, an optional second line under it, and how it is drawn.
struct LegendEntry {
    pub name: String,
    pub note: Option<String>,
    pub look: Look,
}

fn legend_row(entry: &LegendEntry, text: u32) -> i32 {
    text as i32 + 9 + if entry.note.is_some() { text as i32 } else { 0 }
}

/// Pixels from a legend's first row to below its last.
fn legend_height(entries: &[LegendEntry], text: u32) -> i32 {
    entries.iter().map(|e| legend_row(e, text)).sum()
}

fn line_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LineChart) -> DrawResult<DB> {
    let area = titled(root, &c.title, &c.subtitle)?;
    let (plot, column) = with_legend(&area, c.series.iter().map(|s| s.name.as_str()));
    let points = || c.series.iter().flat_map(|s| s.points.iter());
    let x_marks = || c.x_marks.iter().map(|m| m.at);
    let x = match (&c.x_categories, c.x_log) {
        (Some(names), _) => Scale::categories(names),
        (None, true) => Scale::log(points().map(|p| p.x).chain(x_marks())),
        (None, false) => Scale::linear(points().map(|p| p.x).chain(x_marks()), false),
    };
    let ys = || points().flat_map(|p| [p.y, p.lo, p.hi]).chain(c.y_marks.iter().map(|m| m.at));
    let y = match (c.y_range, c.y_log) {
        (Some((lo, hi)), _) => Scale::fixed(lo, hi),
        (None, true) => Scale::log(ys()),
        // A ratio axis that may reach 0 reads better anchored at 0.
        (None, false) => Scale::linear(ys(), true),
    };
    // Category names that would overlap in one row alternate between two, drawn here.
    let staggered = c.x_categories.as_ref().and_then(|names| {
        let spacing = f64::from(plot.dim_in_pixel().0.saturating_sub(INSET_X)) / (x.hi - x.lo);
        let font: TextStyle = ("sans-serif", 14).into();
        fit_categories(names, spacing, |t| root.estimate_text_size(t, &font).map_or(0, |s| s.0))
    });
    let mesh_x = match staggered {
        Some(_) => {
            Scale { ticks: x.ticks.iter().map(|t| (t.0, String::new())).collect(), ..x.clone() }
        }
        None => x.clone(),
    };
    let rows = if staggered.is_some() { 2 } else { 1 };
    let mut chart = axes(&plot, (&mesh_x, &y), (Some(&c.x_label), &c.y_label), (17, 14), rows)?;
    if let Some(labels) = &staggered {
        let font =
            ("sans-serif", 14).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, label) in labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64, y.lo));
            let row = (i % 2) as i32 * LABEL_ROW as i32;
            root.draw(&Text::new(label.clone(), (px, py + 8 + row), font.clone()))?;
        }
    }
    let at = |x_value: f64, y_value: f64| (x.position(x_value), y.position(y_value));
    for mark in &c.y_marks {
        let (left, right) = (
            chart.backend_coord(&(x.lo, y.position(mark.at))),
            chart.backend_coord(&(x.hi, y.position(mark.at))),
        );
        mark_line(root, left, right, &mark.label, true)?;
    }
    for mark in &c.x_marks {
        let bottom = chart.backend_coord(&(x.position(mark.at), y.lo));
        let top = chart.backend_coord(&(x.position(mark.at), y.hi));
        mark_line(root, top, bottom, &mark.label, false)?;
    }
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
        // Sparse markers are at least SPARSE_PX apart, offset per series so that curves
        // that run together still show each one's marker.
        let mut next_x = i32::MIN;
        for p in s.points.iter().filter(|p| p.y.is_finite()) {
            let (px, py) = pixels(k, p, p.y);
            if c.sparse_markers {
                if next_x == i32::MIN {
                    next_x = px + (s.index as i32 * SPARSE_PX / 8) % SPARSE_PX;
                }
                if px < next_x {
                    continue;
                }
                next_x = px + SPARSE_PX;
            }
            marker(root, (px, py), look(s.index))?;
            if p.flagged {
                root.draw(&Circle::new(
                    pixels(k, p, p.y),
                    FLAG_RADIUS,
                    FLAG_COLOUR.stroke_width(2),
                ))?;
            }
        }
    }
    let entries: Vec<LegendEntry> = c
        .series
        .iter()
        .map(|s| LegendEntry { name: s.name.clone(), note: s.note.clone(), look: look(s.index) })
        .collect();
    let flagged = c.series.iter().any(|s| s.points.iter().any(|p| p.flagged && p.y.is_finite()));
    let flag_note = c.flag_note.as_deref().filter(|_| flagged);
    legend(root, &column, &entries, true, 15)?;
    if let Some(note) = flag_note {
        let (x0, y0) = column.get_base_pixel();
        let y = y0 + 22 + legend_height(&entries, 15) + 12;
        root.draw(&Circle::new((x0 + 29, y), FLAG_RADIUS, FLAG_COLOUR.stroke_width(2)))?;
        let font = ("sans-serif", 13).into_font().color(&BLACK);
        for (i, line) in note.lines().enumerate() {
            root.draw(&Text::new(line.to_owned(), (x0 + 44, y - 8 + 16 * i as i32), font.clone()))?;
        }
    }
    Ok(())
}

/// Pixels between markers along a line with sparse markers.
const SPARSE_PX: i32 = 64;

/// Radius of the ring around a flagged point, in pixels: clear of the largest marker.
const FLAG_RADIUS: i32 = 10;

/// Colour of the ring around a flagged point.
const FLAG_COLOUR: RGBColor = RGBColor(200, 30, 30);

/// Colour of a marked value's line and label.
const MARK_COLOUR: RGBColor = RGBColor(150, 20, 20);

/// A dashed line between pixels `from` and `to` with `label` beside it: above its right end
/// when `horizontal`, left of its bottom end otherwise.
fn mark_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    from: (i32, i32),
    to: (i32, i32),
    label: &str,
    horizontal: bool,
) -> DrawResult<DB> {
    let style = MARK_COLOUR.stroke_width(1);
    root.draw(&DashedPathElement::new(vec![from, to], 6, 4, style))?;
    let font = ("sans-serif", 13).into_font().color(&MARK_COLOUR);
    if horizontal {
        let font = font.pos(Pos::new(HPos::Right, VPos::Bottom));
        root.draw(&Text::new(label.to_owned(), (to.0 - 4, to.1 - 3), font))
    } else {
        let font = font.pos(Pos::new(HPos::Right, VPos::Bottom));
        root.draw(&Text::new(label.to_owned(), (to.0 - 4, to.1 - 4), font))
    }
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
    if !t.replicas.is_empty() {
        panels.push(("replicas", t.replicas.iter().map(|(n, v)| (n.clone(), v)).collect()));
    }
    if let Some(wasted) = &t.wasted {
        panels.push(("wasted work (share)", vec![("all services".to_owned(), wasted)]));
    }
    let parts = area.split_evenly((panels.len(), 1));
    let x1 = t.starts.last().copied().unwrap_or(1.0) + t.window_s;
    let x = Scale::fixed(0.0, x1);
    for (i, (panel, (y_label, lines))) in parts.iter().zip(&panels).enumerate() {
        let (plot, column) = with_legend(panel, lines.iter().map(|(n, _)| n.as_str()));
        let y = Scale::linear(lines.iter().flat_map(|(_, v)| v.iter().copied()).chain([0.0]), true);
        let last = i + 1 == panels.len();
        let x_label = last.then_some("simulated time (s)");
        let mut chart = axes(&plot, (&x, &y), (x_label, y_label), (15, 13), 1)?;
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
            entries.push(LegendEntry { name: name.clone(), note: None, look: look(k) });
        }
        legend(root, &column, &entries, false, 13)?;
    }
    Ok(())
}

/// Names of categories `spacing` pixels apart, as `width` measures them: `None` when they fit
/// in one row; otherwise names for two alternating rows, each shortened with "…" where
/// it would still overlap its neighbours in its row.
fn fit_categories(
    names: &[String],
    spacing: f64,
    width: impl Fn(&str) -> u32,
) -> Option<Vec<String>> {
    /// Least room between two names in a row, in pixels.
    const GAP: f64 = 10.0;
    let widths: Vec<f64> = names.iter().map(|n| f64::from(width(n))).collect();
    let fits = |step: usize| {
        let pairs = widths.iter().zip(widths.iter().skip(step));
        pairs.into_iter().all(|(a, b)| (a + b) / 2.0 + GAP <= spacing * step as f64)
    };
    if fits(1) {
        return None;
    }
    let most = 2.0 * spacing - GAP;
    let shorten = |name: &String| {
        let chars: Vec<char> = name.chars().collect();
        (0..chars.len())
            .rev()
            .map(|n| chars[..n].iter().collect::<String>() + "…")
            .find(|short| f64::from(width(short)) <= most)
            .unwrap_or_else(|| "…".to_owned())
    };
    let names = names
        .iter()
        .map(|n| if f64::from(width(n)) <= most { n.clone() } else { shorten(n) })
        .collect();
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_names_that_would_overlap_alternate_rows_and_are_shortened_if_they_still_would() {
        // 10 px a character; names 100 px apart.
        let width = |s: &str| 10 * s.chars().count() as u32;
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let short = names(&["none", "hpa", "hpa_short", "step"]);
        assert_eq!(fit_categories(&short, 100.0, width), None, "one row: 90 + 10 px at most");
        let long = names(&["none", "hpa_tuned+bandit", "step"]);
        assert_eq!(fit_categories(&long, 100.0, width), Some(long.clone()), "two rows");
        let longer = names(&["none", "hpa_tuned+bandit+remediator", "step"]);
        assert_eq!(
            fit_categories(&longer, 100.0, width).unwrap(),
            ["none", "hpa_tuned+bandit+r…", "step"],
            "shortened to 190 px, the room in its row"
        );
    }
}
