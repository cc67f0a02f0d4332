//! The SVG chart of a [`Report`]: throughput and efficiency against pool size.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::Report;

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

const THROUGHPUT_COLOR: RGBColor = RGBColor(31, 119, 180);
const EFFICIENCY_COLOR: RGBColor = RGBColor(214, 39, 40);
const SEQUENTIAL_COLOR: RGBColor = RGBColor(44, 160, 44);

impl Report {
    /// Draws throughput (left axis) and efficiency against one pool thread and, when the
    /// sequential code was measured, against it (right axis, percent) over pool size, as
    /// an SVG document of `width` x `height` pixels.
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

    fn draw(
        &self,
        root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), ChartError> {
        let min_threads = self.sizes.first().map_or(1, |size| size.threads);
        let max_threads = self.sizes.last().map_or(1, |size| size.threads);
        // Leave half a step of room on both sides so the end points are not on the frame.
        let x_range = (min_threads as f64 - 0.5)..(max_threads as f64 + 0.5);
        let max_throughput = self
            .sizes
            .iter()
            .map(|size| size.throughput_per_sec)
            .fold(0.0, f64::max);
        let max_efficiency = self
            .sizes
            .iter()
            .flat_map(|size| {
                [
                    Some(size.efficiency_vs_one_thread),
                    size.efficiency_vs_sequential,
                ]
            })
            .flatten()
            .fold(1.0, f64::max);
        let caption = format!(
            "weft-tune: {} ({} logical cores, {} physical)",
            self.workload, self.machine.logical_cores, self.machine.physical_cores
        );
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), 0.0..max_throughput * 1.15)
            .map_err(chart_error)?
            .set_secondary_coord(x_range, 0.0..max_efficiency * 115.0);

        let unit = format!("throughput ({}/s)", self.item_unit);
        chart
            .configure_mesh()
            .x_desc("pool size (threads)")
            .y_desc(unit)
            .x_labels(self.sizes.len().min(16) + 1)
            .x_label_formatter(&|x| {
                if (x.fract()).abs() < 1e-9 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format_si(*y))
            .light_line_style(WHITE.mix(0.0))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(chart_error)?;
        chart
            .configure_secondary_axes()
            .y_desc("efficiency (%)")
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(chart_error)?;

        // The recommended size: a dashed vertical line and its label.
        let pick = self.recommendation.threads as f64;
        let top = max_throughput * 1.15;
        chart
            .draw_series(DashedLineSeries::new(
                [(pick, 0.0), (pick, top)],
                6,
                4,
                BLACK.mix(0.45).stroke_width(1),
            ))
            .map_err(chart_error)?;
        // The label goes on the side of the line with room for it.
        let at_right_edge = self.recommendation.threads == max_threads && min_threads < max_threads;
        let (label, anchor) = if at_right_edge {
            (
                format!("recommended: {} ", self.recommendation.threads),
                HPos::Right,
            )
        } else {
            (
                format!(" recommended: {}", self.recommendation.threads),
                HPos::Left,
            )
        };
        let label_style =
            TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(anchor, VPos::Top));
        chart
            .draw_series(std::iter::once(Text::new(
                label,
                (pick, top * 0.99),
                label_style,
            )))
            .map_err(chart_error)?;

        let throughput: Vec<(f64, f64)> = self
            .sizes
            .iter()
            .map(|size| (size.threads as f64, size.throughput_per_sec))
            .collect();
        chart
            .draw_series(LineSeries::new(
                throughput.clone(),
                THROUGHPUT_COLOR.stroke_width(2),
            ))
            .map_err(chart_error)?
            .label("throughput")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], THROUGHPUT_COLOR.stroke_width(2))
            });
        chart
            .draw_series(PointSeries::of_element(
                throughput,
                4,
                THROUGHPUT_COLOR.filled(),
                &|c, s, st| EmptyElement::at(c) + Circle::new((0, 0), s, st),
            ))
            .map_err(chart_error)?;

        let efficiency: Vec<(f64, f64)> = self
            .sizes
            .iter()
            .map(|size| (size.threads as f64, size.efficiency_vs_one_thread * 100.0))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(
                efficiency.clone(),
                EFFICIENCY_COLOR.stroke_width(2),
            ))
            .map_err(chart_error)?
            .label("efficiency vs 1 pool thread")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], EFFICIENCY_COLOR.stroke_width(2))
            });
        chart
            .draw_secondary_series(PointSeries::of_element(
                efficiency,
                4,
                EFFICIENCY_COLOR.filled(),
                &|c, s, st| EmptyElement::at(c) + Circle::new((0, 0), s, st),
            ))
            .map_err(chart_error)?;

        if self.sequential.is_some() {
            let efficiency: Vec<(f64, f64)> = self
                .sizes
                .iter()
                .filter_map(|size| {
                    Some((size.threads as f64, size.efficiency_vs_sequential? * 100.0))
                })
                .collect();
            chart
                .draw_secondary_series(LineSeries::new(
                    efficiency,
                    SEQUENTIAL_COLOR.stroke_width(2),
                ))
                .map_err(chart_error)?
                .label("efficiency vs sequential code")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], SEQUENTIAL_COLOR.stroke_width(2))
                });
        }

        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(chart_error)?;
        Ok(())
    }
}

/// `1.5G`, `20M`, `3k`: short axis labels.
fn format_si(value: f64) -> String {
    let (scaled, suffix) = if value >= 1e9 {
        (value / 1e9, "G")
    } else if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}
