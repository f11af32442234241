//! Drawing with plotters: one function per kind of chart, generic over the backend, so the
//! same code renders the PNG (in memory, encoded with `image`) and the SVG (a string).

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans (Bitstream Vera license, see assets/fonts/DejaVuSans-LICENSE.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
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
    /// Position of the policy in the sweep: its colour.
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
}

/// One run over time.
#[derive(Debug)]
pub(crate) struct TimeSeries {
    pub title: String,
    pub starts: Vec<f64>,
    pub window_s: f64,
    pub goodput: Vec<f64>,
    pub failures: Option<Vec<f64>>,
    pub queues: Vec<(String, Vec<f64>)>,
    pub p99: Option<Vec<f64>>,
    pub fault_spans: Vec<(f64, f64)>,
    pub spike_spans: Vec<(f64, f64)>,
}

/// What to draw.
#[derive(Debug)]
pub(crate) enum Chart {
    Lines(LineChart),
    Cdf(LineChart),
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
        Chart::Cdf(c) => cdf_chart(root, c),
        Chart::Series(t) => time_series_chart(root, t),
    }
    .map_err(|e| e.to_string())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// `(min, max)` of finite values, widened when flat and padded by 5%.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.1).max(1e-3);
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (top, rest) = root.split_vertically(62);
    top.draw(&Text::new(title.to_owned(), (20, 10), ("sans-serif", 24).into_font().color(&BLACK)))?;
    top.draw(&Text::new(
        subtitle.to_owned(),
        (20, 40),
        ("sans-serif", 15).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    Ok(rest)
}

fn line_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LineChart) -> DrawResult<DB> {
    let area = titled(root, &c.title, &c.subtitle)?;
    let points = || c.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = bounds(points().map(|p| p.x));
    let (y0, y1) = bounds(points().flat_map(|p| [p.y, p.lo, p.hi]));
    // A ratio axis that may reach 0 reads better anchored at 0.
    let y0 = if y0 > 0.0 && y0 < (y1 - y0) * 0.5 { 0.0 } else { y0 };
    let mut chart = ChartBuilder::on(&area)
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let categories = c.x_categories.clone();
    let format_x = move |x: &f64| match &categories {
        Some(names) if (x - x.round()).abs() < 1e-9 && *x >= 0.0 => {
            names.get(x.round() as usize).cloned().unwrap_or_default()
        }
        Some(_) => String::new(),
        None => format!("{}", (x * 1e6).round() / 1e6),
    };
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .x_label_formatter(&format_x)
        .axis_desc_style(("sans-serif", 17))
        .label_style(("sans-serif", 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for s in &c.series {
        let col = colour(s.index);
        let band: Vec<&Point> =
            s.points.iter().filter(|p| p.lo.is_finite() && p.hi.is_finite()).collect();
        if band.len() >= 2 {
            let mut outline: Vec<(f64, f64)> = band.iter().map(|p| (p.x, p.hi)).collect();
            outline.extend(band.iter().rev().map(|p| (p.x, p.lo)));
            chart.draw_series(std::iter::once(Polygon::new(outline, col.mix(0.18).filled())))?;
        }
        let line: Vec<(f64, f64)> =
            s.points.iter().filter(|p| p.y.is_finite()).map(|p| (p.x, p.y)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), col.stroke_width(3)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], col.stroke_width(3)));
        chart.draw_series(line.iter().map(|&(x, y)| Circle::new((x, y), 4, col.filled())))?;
        // Error bars, so an interval is visible even at a single point.
        chart.draw_series(band.iter().map(|p| {
            PathElement::new(vec![(p.x, p.lo), (p.x, p.hi)], col.mix(0.6).stroke_width(1))
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
}

fn cdf_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LineChart) -> DrawResult<DB> {
    let area = titled(root, &c.title, &c.subtitle)?;
    let xs = || c.series.iter().flat_map(|s| s.points.iter().map(|p| p.x));
    let lo = xs().fold(f64::INFINITY, f64::min).max(1e-6);
    let hi = xs().fold(0.0, f64::max).max(lo * 10.0);
    let mut chart = ChartBuilder::on(&area)
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((lo * 0.8..hi * 1.25).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .x_label_formatter(&|x| format!("{x}"))
        .axis_desc_style(("sans-serif", 17))
        .label_style(("sans-serif", 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for s in &c.series {
        let col = colour(s.index);
        let line: Vec<(f64, f64)> = s.points.iter().map(|p| (p.x, p.y)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), col.stroke_width(3)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], col.stroke_width(3)));
        chart.draw_series(line.iter().map(|&(x, y)| Circle::new((x, y), 3, col.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
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
    let mut rates = vec![("completions/s".to_owned(), &t.goodput)];
    if let Some(f) = &t.failures {
        rates.push(("failures/s".to_owned(), f));
    }
    panels.push(("jobs/s", rates));
    if let Some(p) = &t.p99 {
        panels.push(("p99 latency (ms)", vec![("p99".to_owned(), p)]));
    }
    if !t.queues.is_empty() {
        panels.push((
            "queue length (requests)",
            t.queues.iter().map(|(n, v)| (n.clone(), v)).collect(),
        ));
    }
    let parts = area.split_evenly((panels.len(), 1));
    let x1 = t.starts.last().copied().unwrap_or(1.0) + t.window_s;
    for (i, (panel, (y_label, lines))) in parts.iter().zip(&panels).enumerate() {
        let (_, y1) = bounds(lines.iter().flat_map(|(_, v)| v.iter().copied()));
        let mut chart = ChartBuilder::on(panel)
            .margin(10)
            .x_label_area_size(if i + 1 == panels.len() { 45 } else { 20 })
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..x1, 0.0..y1.max(1e-9))?;
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(*y_label)
            .axis_desc_style(("sans-serif", 15))
            .label_style(("sans-serif", 13))
            .light_line_style(RGBColor(235, 235, 235));
        if i + 1 == panels.len() {
            mesh.x_desc("simulated time (s)");
        }
        mesh.draw()?;
        let shade = |spans: &[(f64, f64)], col: RGBColor| {
            spans
                .iter()
                .map(move |&(a, b)| Rectangle::new([(a, 0.0), (b, y1)], col.mix(0.25).filled()))
                .collect::<Vec<_>>()
        };
        chart.draw_series(shade(&t.fault_spans, RGBColor(220, 50, 47)))?;
        chart.draw_series(shade(&t.spike_spans, RGBColor(230, 190, 0)))?;
        for (k, (name, values)) in lines.iter().enumerate() {
            let col = colour(k);
            let pts: Vec<(f64, f64)> = t
                .starts
                .iter()
                .zip(values.iter())
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, &v)| (x + t.window_s / 2.0, v))
                .collect();
            chart
                .draw_series(LineSeries::new(pts, col.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    Ok(())
}
