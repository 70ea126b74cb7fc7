//! The charts over time: the monthly trend on to 2030 and the yearly view
//! 2022–2030, with every programme's targets drawn as lines (a single
//! value) and bands (a range) and the governing target dashed. Shares the
//! parent's palette, fonts, axes and legend; computes no figure.

use super::*;

/// The legend entries of the targets: the governing one, then each programme.
pub(super) fn target_keys(t: &TargetPaths, governing: &str) -> Vec<Key> {
    let mut keys = Vec::new();
    if !t.governing.is_empty() {
        keys.push(Key {
            mark: Mark::Dashed(TARGET, 2),
            text: governing.to_string(),
        });
    }
    for p in &t.programs {
        let c = program_colour(p.recency);
        keys.push(Key {
            mark: if p.is_band() {
                Mark::Band(c)
            } else {
                Mark::Line(c, PATH_WIDTH)
            },
            text: p.label.clone(),
        });
    }
    keys
}

/// Draws each programme's ranges as translucent bands, each year over
/// `span(year)` (none: not shown).
pub(super) fn draw_bands<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    t: &TargetPaths,
    span: &dyn Fn(u16) -> Option<(f64, f64)>,
) -> Result<(), ChartError> {
    for p in &t.programs {
        let c = program_colour(p.recency);
        for v in p.years.iter().filter(|v| v.is_range()) {
            let (Some((x0, x1)), Some(high)) = (span(v.year), v.high) else {
                continue;
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, v.low), (x1, high)],
                    c.mix(BAND_ALPHA).filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series([v.low, high].map(|y| PathElement::new(vec![(x0, y), (x1, y)], c.stroke_width(1))))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// How the lines of programmes whose targets coincide in a year stay
/// visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coincide {
    /// Joined year to year by a riser; equal lines nested, the first the
    /// widest (the trend: a year's months are one target).
    Nest,
    /// Side by side within the year's span (the yearly chart).
    Split,
}

/// Draws each programme's single values and "at least" values as lines,
/// each year over `span(year)`, then the governing target, black and
/// dashed, on top.
pub(super) fn draw_lines<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    t: &TargetPaths,
    span: &dyn Fn(u16) -> Option<(f64, f64)>,
    coincide: Coincide,
) -> Result<(), ChartError> {
    let same = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // The programmes (by index) with a line at each (year, value).
    let lines: Vec<(usize, YearTarget)> = t
        .programs
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.years.iter().filter(|v| !v.is_range()).map(move |v| (i, *v)))
        .collect();
    for (i, p) in t.programs.iter().enumerate() {
        let colour = program_colour(p.recency);
        let mut previous: Option<YearTarget> = None;
        for v in &p.years {
            let Some((x0, x1)) = span(v.year).filter(|_| !v.is_range()) else {
                previous = None;
                continue;
            };
            let equal: Vec<usize> = lines
                .iter()
                .filter(|(_, o)| o.year == v.year && same(o.low, v.low))
                .map(|(j, _)| *j)
                .collect();
            let at = equal.iter().position(|j| *j == i).unwrap_or(0);
            let (x0, x1, width) = match coincide {
                Coincide::Split => {
                    let k = equal.len().max(1) as f64;
                    let w = (x1 - x0) / k;
                    (x0 + w * at as f64, x0 + w * (at + 1) as f64, PATH_WIDTH)
                }
                Coincide::Nest => (x0, x1, PATH_WIDTH + 4 * (equal.len().max(1) - 1 - at) as u32),
            };
            let mut points = Vec::with_capacity(3);
            if let Some(before) = previous.filter(|b| coincide == Coincide::Nest && b.year + 1 == v.year) {
                points.push((x0, before.low));
            }
            points.extend([(x0, v.low), (x1, v.low)]);
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(width)))
                .map_err(err)?;
            previous = Some(*v);
        }
    }
    let mut previous: Option<&Governing> = None;
    for g in &t.governing {
        let Some((x0, x1)) = span(g.year) else {
            previous = None;
            continue;
        };
        let (x0, x1) = match coincide {
            // A little wider than the programmes' ticks.
            Coincide::Split => (x0 - 0.04, x1 + 0.04),
            Coincide::Nest => (x0, x1),
        };
        let mut points = Vec::with_capacity(3);
        if let Some(before) = previous.filter(|b| coincide == Coincide::Nest && b.year + 1 == g.year) {
            points.push((x0, before.target));
        }
        points.extend([(x0, g.target), (x1, g.target)]);
        chart
            .draw_series(DashedLineSeries::new(points, 8, 5, TARGET.stroke_width(2)))
            .map_err(err)?;
        previous = Some(g);
    }
    Ok(())
}

/// Where the trend's months are: the year and month of the `i`th.
pub(super) fn month_at(start: (u16, u8), i: usize) -> (u16, u8) {
    let m = usize::from(start.1.clamp(1, 12)) - 1 + i;
    (start.0 + (m / 12) as u16, (m % 12) as u8 + 1)
}

/// The index of January of `year` on the trend's axis (negative before
/// the first month).
pub(super) fn january(start: (u16, u8), year: u16) -> i64 {
    (i64::from(year) - i64::from(start.0)) * 12 - (i64::from(start.1.clamp(1, 12)) - 1)
}

/// The trend's axis labels: every few months' label over up to three
/// years; over more, each year's number in the middle of its months.
pub(super) fn trend_axis(t: &Trend, n: usize) -> Vec<(f64, String)> {
    if n <= 36 {
        let step = n.div_ceil(12).max(1);
        return (0..n)
            .step_by(step)
            .map(|i| (i as f64, t.months.get(i).cloned().unwrap_or_default()))
            .collect();
    }
    let (first, last) = (t.start.0, month_at(t.start, n - 1).0);
    (first..=last)
        .filter_map(|y| {
            let jan = january(t.start, y);
            let (a, b) = (jan.max(0), (jan + 11).min(n as i64 - 1));
            // A year with few months on the axis goes unlabelled.
            (b - a >= 3).then(|| ((a + b) as f64 / 2.0, y.to_string()))
        })
        .collect()
}

pub(super) fn draw_trend<DB: DrawingBackend>(
    t: &Trend,
    root: &DrawingArea<DB, Shift>,
    lang: Lang,
) -> Result<(), ChartError> {
    let area = titled(root, &t.title)?;
    let provisional_any = t.share.iter().zip(&t.provisional).any(|(s, p)| s.is_some() && *p);
    let mut keys = vec![
        Key {
            mark: Mark::Line(NEUTRAL, 3),
            text: t.legend.share.clone(),
        },
        Key {
            mark: Mark::Line(LAST_YEAR, 2),
            text: t.legend.last_year.clone(),
        },
    ];
    if provisional_any {
        keys.push(Key {
            mark: Mark::Hollow(NEUTRAL),
            text: t.legend.provisional.clone(),
        });
    }
    keys.extend(target_keys(&t.targets, &t.legend.target));
    let plot = with_legend(&area, &keys, Y_LABELS as i32)?;
    let n = t.months.len().max(t.share.len()).max(1);
    let top = max_share(
        t.share
            .iter()
            .chain(&t.last_year)
            .flatten()
            .copied()
            .chain(t.targets.values()),
        None,
    );
    let axis = trend_axis(t, n);
    let mut chart = share_chart(&plot, Axis::new(n, axis.iter().map(|(x, _)| *x).collect()), top)?;
    // The months after the data: the targets alone, on a grey ground.
    if t.share.len() < n {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(t.share.len() as f64 - 0.5, 0.0), (n as f64 - 0.5, top)],
                AHEAD.filled(),
            )))
            .map_err(err)?;
    }
    share_mesh(
        &mut chart,
        &|x| {
            axis.iter()
                .find(|(k, _)| (k - x).abs() < 1e-6)
                .map(|(_, l)| l.clone())
                .unwrap_or_default()
        },
        lang,
    )?;
    // Years apart.
    let (first, last) = (t.start.0, month_at(t.start, n - 1).0);
    for y in first + 1..=last {
        let x = january(t.start, y) as f64 - 0.5;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, top)],
                BOUNDARY.stroke_width(1),
            )))
            .map_err(err)?;
    }
    let span = |year: u16| -> Option<(f64, f64)> {
        let jan = january(t.start, year) as f64;
        let (x0, x1) = ((jan - 0.5).max(-0.5), (jan + 11.5).min(n as f64 - 0.5));
        (x1 > x0).then_some((x0, x1))
    };
    draw_bands(&mut chart, &t.targets, &span)?;
    draw_lines(&mut chart, &t.targets, &span, Coincide::Nest)?;
    let line = |values: &[Option<f64>]| -> Vec<Vec<(f64, f64)>> {
        // Gaps (months without data) break the line.
        let mut runs = vec![Vec::new()];
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => runs.last_mut().expect("one run").push((i as f64, *v)),
                None if !runs.last().is_some_and(Vec::is_empty) => runs.push(Vec::new()),
                None => {}
            }
        }
        runs
    };
    for run in line(&t.last_year) {
        chart
            .draw_series(LineSeries::new(run, LAST_YEAR.stroke_width(2)))
            .map_err(err)?;
    }
    let provisional = |p: &(f64, f64)| t.provisional.get(p.0 as usize).copied().unwrap_or(false);
    for run in line(&t.share) {
        // Final months filled; estimates and preliminary figures hollow
        // (white inside, drawn over the line).
        chart
            .draw_series(
                run.iter()
                    .filter(|p| !provisional(p))
                    .map(|&p| Circle::new(p, 3, NEUTRAL.filled())),
            )
            .map_err(err)?;
        let hollow: Vec<(f64, f64)> = run.iter().copied().filter(|p| provisional(p)).collect();
        chart
            .draw_series(LineSeries::new(run, NEUTRAL.stroke_width(3)))
            .map_err(err)?;
        chart
            .draw_series(hollow.iter().map(|&p| Circle::new(p, 4, WHITE.filled())))
            .map_err(err)?;
        chart
            .draw_series(hollow.iter().map(|&p| Circle::new(p, 4, NEUTRAL.stroke_width(2))))
            .map_err(err)?;
    }
    Ok(())
}

pub(super) fn draw_years<DB: DrawingBackend>(
    y: &Years,
    root: &DrawingArea<DB, Shift>,
    lang: Lang,
) -> Result<(), ChartError> {
    let area = titled(root, &y.title)?;
    let mut keys = vec![Key {
        mark: Mark::Bar(NEUTRAL),
        text: y.legend.share.clone(),
    }];
    if y.years.iter().any(|b| b.share.is_some() && b.provisional) {
        keys.push(Key {
            mark: Mark::HollowBar(NEUTRAL),
            text: y.legend.provisional.clone(),
        });
    }
    keys.extend(y.legend.partial.iter().map(|text| Key {
        mark: Mark::Note,
        text: text.clone(),
    }));
    keys.extend(target_keys(&y.targets, &y.legend.target));
    let plot = with_legend(&area, &keys, Y_LABELS as i32)?;
    let n = y.years.len().max(1);
    let top = max_share(y.years.iter().filter_map(|b| b.share).chain(y.targets.values()), None);
    let mut chart = share_chart(&plot, Axis::new(n, (0..y.years.len()).map(|i| i as f64).collect()), top)?;
    share_mesh(
        &mut chart,
        &|x| {
            y.years
                .get(x.round().max(0.0) as usize)
                .map(|b| b.label.clone())
                .unwrap_or_default()
        },
        lang,
    )?;
    let index = |year: u16| y.years.iter().position(|b| b.year == year);
    let span = |year: u16| index(year).map(|i| (i as f64 - 0.38, i as f64 + 0.38));
    draw_bands(&mut chart, &y.targets, &span)?;
    for (i, b) in y.years.iter().enumerate() {
        let Some(share) = b.share else { continue };
        let corners = [(i as f64 - 0.2, 0.0), (i as f64 + 0.2, share)];
        if b.provisional {
            chart
                .draw_series(std::iter::once(Rectangle::new(corners, WHITE.filled())))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Rectangle::new(corners, NEUTRAL.stroke_width(2))))
                .map_err(err)?;
        } else {
            chart
                .draw_series(std::iter::once(Rectangle::new(corners, NEUTRAL.filled())))
                .map_err(err)?;
        }
    }
    draw_lines(&mut chart, &y.targets, &span, Coincide::Split)?;
    // Each bar's share above it.
    chart
        .draw_series(y.years.iter().enumerate().filter_map(|(i, b)| {
            let share = b.share?;
            Some(
                EmptyElement::at((i as f64, share))
                    + Text::new(
                        locale::percent(share, 1, lang),
                        (0, -4),
                        label_font(10).pos(Pos::new(HPos::Center, VPos::Bottom)),
                    ),
            )
        }))
        .map_err(err)?;
    Ok(())
}

/// A chart of shares over `x`, from 0 to `top`, as both views draw it.
fn share_chart<'a, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, Shift>,
    x: Axis,
    top: f64,
) -> Result<ChartContext<'a, DB, Cartesian2d<Axis, RangedCoordf64>>, ChartError> {
    ChartBuilder::on(plot)
        .margin_top(4)
        .margin_right(8)
        .x_label_area_size(24)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(x, 0f64..top)
        .map_err(err)
}

/// Its axes: `label` names a point of `x`, shares as percentages, no
/// vertical grid.
fn share_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<Axis, RangedCoordf64>>,
    label: &dyn Fn(&f64) -> String,
    lang: Lang,
) -> Result<(), ChartError> {
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(label)
        .y_label_formatter(&|v| percent_axis(v, lang))
        .label_style(label_font(11))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)
}
