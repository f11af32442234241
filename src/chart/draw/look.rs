//! How each series of a chart is drawn: a colour, a line dash and a marker shape, chosen so
//! that any two of the first sixteen series differ (and the first eight in all three).

use plotters::style::RGBColor;

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
pub(super) enum Marker {
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
pub(super) struct Look {
    pub(super) colour: RGBColor,
    pub(super) dash: Option<(u32, u32)>,
    pub(super) marker: Marker,
}

pub(super) fn look(i: usize) -> Look {
    // Past the eighth series the colours come round again, each with another marker and
    // dash than the series it shares its colour with (a sweep of the twelve built-in
    // policies draws twelve distinct lines).
    let round = i / COLOURS.len();
    Look {
        colour: COLOURS[i % COLOURS.len()],
        dash: DASHES[(i + round) % DASHES.len()],
        marker: MARKERS[(i + 3 * round) % MARKERS.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_series_are_sixteen_looks() {
        for i in 0..16 {
            for j in 0..i {
                assert_ne!(look(i), look(j), "{i} and {j}");
                if look(i).colour == look(j).colour {
                    assert_ne!(look(i).marker, look(j).marker, "{i} and {j}");
                    assert_ne!(look(i).dash, look(j).dash, "{i} and {j}");
                }
            }
        }
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
