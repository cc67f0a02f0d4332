//! The SVG chart of a [`Report`]: speed-up against pool size, with the ideal, the machine's
//! limit, p10-p90 bars and marks at the core counts.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{Report, Series};

/// Why a chart could not be drawn.
#[derive(Debug)]
pub struct ChartError(String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot draw the chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

fn chart_error(error: impl std::fmt::Display) -> ChartError {
    ChartError(error.to_string())
}

/// Colours for the measured curves, told apart by hue, then by marker.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];
const LIMIT_COLOR: RGBColor = RGBColor(255, 127, 14);
const IDEAL_COLOR: RGBColor = RGBColor(110, 110, 110);
const CORES_COLOR: RGBColor = RGBColor(150, 150, 150);

/// A marker shape, one per curve.
#[derive(Debug, Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Cross,
}

const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Cross,
];

/// One measured line: (pool size, median, p10, p90) per point.
struct Curve {
    label: String,
    color: RGBColor,
    marker: Marker,
    dashed: bool,
    points: Vec<(f64, f64, f64, f64)>,
}

type Chart<'b> = ChartContext<
    'b,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

impl Report {
    /// Draws the speed-up over pool size as an SVG document of `width` x `height` pixels:
    /// the speed-up over one pool thread with p10-p90 bars (per series: pinned beside
    /// unpinned), the speed-up over sequential code, the ideal (`threads x`), the limit plain
    /// threads reached in the same rounds, the recommended size and marks at the logical and
    /// physical core counts. A sweep over job sizes draws one line per job size, the
    /// speed-up over the jobs run in place, against a break-even line at 1x.
    ///
    /// ```
    /// let report = weft_tune::Sweep::new(|pool: &weft::ThreadPool| pool.join(|| 1, || 2))
    ///     .sizes(1..=2)
    ///     .runs(1)
    ///     .run();
    /// let svg = report.to_svg(800, 500).unwrap();
    /// assert!(svg.starts_with("<svg"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ChartError`] if plotters cannot lay the chart out (e.g. a size too small for it).
    pub fn to_svg(&self, width: u32, height: u32) -> Result<String, ChartError> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(chart_error)?;
            self.draw(&root)?;
            root.present().map_err(chart_error)?;
        }
        Ok(svg)
    }

    fn by_job_size(&self) -> bool {
        self.break_even.is_some()
    }

    fn curves(&self) -> Vec<Curve> {
        let point = |threads: usize, e: &crate::Estimate| (threads as f64, e.median, e.p10, e.p90);
        let mut curves = Vec::new();
        let style = |index: usize| {
            (
                PALETTE[index % PALETTE.len()],
                MARKERS[index % MARKERS.len()],
            )
        };
        if self.by_job_size() {
            for (index, series) in self.series.iter().enumerate() {
                let (color, marker) = style(index);
                curves.push(Curve {
                    label: series.label.clone(),
                    color,
                    marker,
                    dashed: series.pinned,
                    points: series
                        .sizes
                        .iter()
                        .filter_map(|size| {
                            Some(point(size.threads, size.speedup_vs_sequential.as_ref()?))
                        })
                        .collect(),
                });
            }
            return curves;
        }
        let several = self.series.len() > 1;
        for (index, series) in self.series.iter().enumerate() {
            let (color, marker) = style(2 * index);
            curves.push(Curve {
                label: if several {
                    format!("{}: speed-up over 1 pool thread", series.label)
                } else {
                    "speed-up over 1 pool thread".to_owned()
                },
                color,
                marker,
                dashed: series.pinned,
                points: series
                    .sizes
                    .iter()
                    .map(|size| point(size.threads, &size.speedup_vs_one_thread))
                    .collect(),
            });
        }
        let primary = self.primary();
        if primary.sequential.is_some() {
            let (color, marker) = style(1);
            curves.push(Curve {
                label: "speed-up over sequential code".to_owned(),
                color,
                marker,
                dashed: true,
                points: primary
                    .sizes
                    .iter()
                    .filter_map(|size| {
                        Some(point(size.threads, size.speedup_vs_sequential.as_ref()?))
                    })
                    .collect(),
            });
        }
        curves
    }

    /// The limit plain threads reached, at each pool size of the first series.
    fn limit_points(&self, series: &Series) -> Vec<(f64, f64)> {
        series
            .sizes
            .iter()
            .filter_map(|size| Some((size.threads as f64, size.limit_speedup?.median)))
            .collect()
    }

    fn draw(&self, root: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), ChartError> {
        let primary = self.primary();
        let min_threads = primary.sizes.first().map_or(1, |size| size.threads);
        let max_threads = primary.sizes.last().map_or(1, |size| size.threads);
        let x_range = (min_threads as f64 - 0.5)..(max_threads as f64 + 0.5);
        let curves = self.curves();
        let limit = self.limit_points(primary);
        let logical = self.machine.logical_cores.max(1);
        // The ideal on this machine: n threads n times as fast, up to the logical cores.
        let ideal: Vec<(f64, f64)> = primary
            .sizes
            .iter()
            .map(|size| (size.threads as f64, size.threads.min(logical) as f64))
            .collect();
        let mut legend = vec![LegendEntry {
            label: format!("ideal: n threads n times as fast, up to {logical} cores"),
            color: IDEAL_COLOR,
            dash: Dash::Long,
            marker: None,
        }];
        if self.by_job_size() {
            legend.push(LegendEntry {
                label: "break-even: as fast as the jobs run in place".to_owned(),
                color: BLACK,
                dash: Dash::Short,
                marker: None,
            });
        }
        if !limit.is_empty() {
            legend.push(LegendEntry {
                label: "limit: plain threads on a fixed loop, same rounds".to_owned(),
                color: LIMIT_COLOR,
                dash: Dash::Short,
                marker: Some(Marker::Triangle),
            });
        }
        legend.extend(curves.iter().map(|curve| LegendEntry {
            label: curve.label.clone(),
            color: curve.color,
            dash: if curve.dashed {
                Dash::Medium
            } else {
                Dash::Solid
            },
            marker: Some(curve.marker),
        }));
        let (width, height) = root.dim_in_pixel();
        let legend_rows = legend.len().div_ceil(2) as u32;
        let (plot_area, legend_area) =
            root.split_vertically(height.saturating_sub(legend_rows * LEGEND_ROW + 14));

        let top = curves
            .iter()
            .flat_map(|curve| curve.points.iter().map(|point| point.3))
            .chain(limit.iter().map(|point| point.1))
            .chain(ideal.iter().map(|point| point.1))
            .chain([1.0])
            .fold(0.0, f64::max)
            * 1.12;
        let caption = format!(
            "weft-tune: {} on {} logical cores ({} physical); bars: p10-p90 of {} rounds",
            self.workload, self.machine.logical_cores, self.machine.physical_cores, self.runs
        );
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(caption, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, 0.0..top)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_desc("pool size (threads)")
            .y_desc(if self.by_job_size() {
                "speed-up over the jobs run in place (x)"
            } else {
                "speed-up (x)"
            })
            .x_labels((max_threads - min_threads + 1).min(16) + 1)
            .x_label_formatter(&|x| {
                if x.fract().abs() < 1e-9 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.1}x"))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(chart_error)?;

        self.draw_marks(&mut chart, min_threads, max_threads, top)?;
        chart
            .draw_series(dashed(ideal, Dash::Long, IDEAL_COLOR.stroke_width(2)))
            .map_err(chart_error)?;
        if self.by_job_size() {
            let level = [
                (min_threads as f64 - 0.5, 1.0),
                (max_threads as f64 + 0.5, 1.0),
            ];
            chart
                .draw_series(dashed(level.to_vec(), Dash::Short, BLACK.stroke_width(1)))
                .map_err(chart_error)?;
        }
        if !limit.is_empty() {
            chart
                .draw_series(dashed(
                    limit.clone(),
                    Dash::Short,
                    LIMIT_COLOR.stroke_width(3),
                ))
                .map_err(chart_error)?;
            chart
                .draw_series(limit.iter().map(|&at| {
                    EmptyElement::at(at) + marker_shape((0, 0), Marker::Triangle, LIMIT_COLOR)
                }))
                .map_err(chart_error)?;
        }
        let count = curves.len() as f64;
        for (index, curve) in curves.iter().enumerate() {
            // Bars of different curves side by side, not on top of each other.
            let shift = (index as f64 - (count - 1.0) / 2.0) * 0.05;
            draw_curve(&mut chart, curve, shift)?;
        }
        draw_legend(&legend_area, &legend, width)
    }

    /// Vertical marks at the logical and physical core counts and at the recommended size.
    fn draw_marks(
        &self,
        chart: &mut Chart<'_>,
        min_threads: usize,
        max_threads: usize,
        top: f64,
    ) -> Result<(), ChartError> {
        let machine = &self.machine;
        let mut marks = Vec::new();
        if machine.logical_cores == machine.physical_cores {
            marks.push((
                machine.logical_cores,
                format!("{} cores", machine.logical_cores),
            ));
        } else {
            marks.push((
                machine.logical_cores,
                format!("{} logical cores", machine.logical_cores),
            ));
            marks.push((
                machine.physical_cores,
                format!("{} physical", machine.physical_cores),
            ));
        }
        let pick = self.recommendation().threads;
        let in_range = |threads: usize| (min_threads..=max_threads).contains(&threads);
        let label_at = |threads: usize, text: String, height: f64| {
            // Labels on the side of the line with room for them.
            let (text, anchor) = if threads == max_threads && min_threads < max_threads {
                (format!("{text} "), HPos::Right)
            } else {
                (format!(" {text}"), HPos::Left)
            };
            Text::new(
                text,
                (threads as f64, height),
                TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(anchor, VPos::Top)),
            )
        };
        for (threads, text) in marks.into_iter().filter(|(threads, _)| in_range(*threads)) {
            chart
                .draw_series(DashedLineSeries::new(
                    [(threads as f64, 0.0), (threads as f64, top)],
                    2,
                    4,
                    CORES_COLOR.stroke_width(1),
                ))
                .map_err(chart_error)?;
            chart
                .draw_series(std::iter::once(label_at(threads, text, top * 0.06)))
                .map_err(chart_error)?;
        }
        chart
            .draw_series(DashedLineSeries::new(
                [(pick as f64, 0.0), (pick as f64, top)],
                6,
                4,
                BLACK.mix(0.55).stroke_width(1),
            ))
            .map_err(chart_error)?;
        chart
            .draw_series(std::iter::once(label_at(
                pick,
                format!("recommended: {pick}"),
                top * 0.99,
            )))
            .map_err(chart_error)?;
        Ok(())
    }
}

/// A curve: its line (solid or dashed), its p10-p90 bars and its markers.
fn draw_curve(chart: &mut Chart<'_>, curve: &Curve, shift: f64) -> Result<(), ChartError> {
    let color = curve.color;
    let line: Vec<(f64, f64)> = curve.points.iter().map(|p| (p.0 + shift, p.1)).collect();
    let dash = if curve.dashed {
        Dash::Medium
    } else {
        Dash::Solid
    };
    chart
        .draw_series(dashed(line.clone(), dash, color.stroke_width(2)))
        .map_err(chart_error)?;
    let cap = 0.07;
    let bar = color.mix(0.85).stroke_width(2);
    chart
        .draw_series(curve.points.iter().flat_map(|&(x, _, p10, p90)| {
            let x = x + shift;
            [
                PathElement::new(vec![(x, p10), (x, p90)], bar),
                PathElement::new(vec![(x - cap, p10), (x + cap, p10)], bar),
                PathElement::new(vec![(x - cap, p90), (x + cap, p90)], bar),
            ]
        }))
        .map_err(chart_error)?;
    chart
        .draw_series(
            line.iter()
                .map(|&at| EmptyElement::at(at) + marker_shape((0, 0), curve.marker, color)),
        )
        .map_err(chart_error)?;
    Ok(())
}

/// How a line is drawn: solid, or dashes of one of three lengths.
#[derive(Debug, Clone, Copy)]
enum Dash {
    Solid,
    Short,
    Medium,
    Long,
}

impl Dash {
    /// (dash, gap) in pixels.
    fn pattern(self) -> Option<(u32, u32)> {
        match self {
            Dash::Solid => None,
            Dash::Short => Some((4, 4)),
            Dash::Medium => Some((9, 5)),
            Dash::Long => Some((14, 6)),
        }
    }
}

/// The path through `points` as solid or dashed line segments, for `draw_series`.
fn dashed<DB: DrawingBackend>(
    points: Vec<(f64, f64)>,
    dash: Dash,
    style: ShapeStyle,
) -> Vec<DynElement<'static, DB, (f64, f64)>> {
    match dash.pattern() {
        None => vec![PathElement::new(points, style).into_dyn()],
        Some((size, gap)) => DashedLineSeries::new(points, size, gap, style)
            .into_iter()
            .map(IntoDynElement::into_dyn)
            .collect(),
    }
}

/// One line of the legend.
struct LegendEntry {
    label: String,
    color: RGBColor,
    dash: Dash,
    marker: Option<Marker>,
}

/// Pixels per legend row.
const LEGEND_ROW: u32 = 22;

/// The legend, in two columns, in its own strip under the plot so it never covers a line.
fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[LegendEntry],
    width: u32,
) -> Result<(), ChartError> {
    let column_width = (width.saturating_sub(90) / 2) as i32;
    for (index, entry) in entries.iter().enumerate() {
        let x = 74 + (index % 2) as i32 * column_width;
        let y = 8 + (index / 2) as i32 * LEGEND_ROW as i32;
        let style = entry.color.stroke_width(2);
        let sample: Vec<(i32, i32)> = match entry.dash.pattern() {
            None => vec![(x, y), (x + 34, y)],
            Some((size, gap)) => {
                let step = (size + gap) as i32;
                (0..)
                    .map(|k| x + k * step)
                    .take_while(|&start| start < x + 34)
                    .flat_map(|start| [(start, y), ((start + size as i32).min(x + 34), y)])
                    .collect()
            }
        };
        // Pairs of points: one segment each.
        for segment in sample.chunks(2) {
            area.draw(&PathElement::new(segment.to_vec(), style))
                .map_err(chart_error)?;
        }
        if let Some(marker) = entry.marker {
            area.draw(&(EmptyElement::at((x + 17, y)) + marker_shape((0, 0), marker, entry.color)))
                .map_err(chart_error)?;
        }
        area.draw(&Text::new(
            entry.label.clone(),
            (x + 44, y),
            TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(chart_error)?;
    }
    Ok(())
}

/// A marker of the given shape centred at `at` (pixels, relative to its anchor).
fn marker_shape<DB: DrawingBackend>(
    at: (i32, i32),
    marker: Marker,
    color: RGBColor,
) -> DynElement<'static, DB, (i32, i32)> {
    let (x, y) = at;
    let fill = color.filled();
    match marker {
        Marker::Circle => Circle::new((x, y), 4, fill).into_dyn(),
        Marker::Square => Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], fill).into_dyn(),
        Marker::Triangle => TriangleMarker::new((x, y), 5, fill).into_dyn(),
        Marker::Cross => Cross::new((x, y), 4, color.stroke_width(2)).into_dyn(),
    }
}
