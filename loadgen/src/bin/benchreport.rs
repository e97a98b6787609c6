//! `benchreport`: turns the JSON lines of `bench/side_by_side.sh` into a
//! Markdown table (medians over rounds, and each run) and SVG charts:
//! throughput and p99 per scenario and server, and server RSS per idle
//! connection.
//!
//! ```text
//! cargo run --release -p proto-loadgen --bin benchreport -- bench/results/RUN.jsonl bench/charts
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::Deserialize;

/// One run, as the load generator wrote it (the fields used here).
#[derive(Debug, Deserialize)]
struct Run {
    scenario: String,
    label: String,
    msgs_per_sec: f64,
    p50_us: u64,
    p99_us: u64,
    lost: u64,
    errors: u64,
    failed_connections: usize,
    rss_per_connection: Option<f64>,
}

/// Runs of one (scenario, server).
#[derive(Debug, Default)]
struct Cell {
    rate: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    rss: Vec<f64>,
    faults: u64,
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = PathBuf::from(
        args.next()
            .ok_or("usage: benchreport RESULTS.jsonl [CHART_DIR]")?,
    );
    let charts = PathBuf::from(args.next().unwrap_or_else(|| "bench/charts".into()));
    std::fs::create_dir_all(&charts)?;
    let mut cells: BTreeMap<(String, String), Cell> = BTreeMap::new();
    for line in std::fs::read_to_string(&input)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let run: Run = serde_json::from_str(line)?;
        let cell = cells
            .entry((run.scenario.clone(), run.label.clone()))
            .or_default();
        cell.rate.push(run.msgs_per_sec);
        cell.p50.push(run.p50_us as f64);
        cell.p99.push(run.p99_us as f64);
        cell.rss.extend(run.rss_per_connection);
        cell.faults += run.lost + run.errors + run.failed_connections as u64;
    }
    let mut md = String::from(
        "| scenario | server | msgs/s (median) | runs | p50 µs | p99 µs | RSS/conn B | lost+errors |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for ((scenario, label), c) in &cells {
        let runs: Vec<String> = c.rate.iter().map(|r| format!("{:.0}", r)).collect();
        md.push_str(&format!(
            "| {scenario} | {label} | {:.0} | {} | {:.0} | {:.0} | {} | {} |\n",
            median(&c.rate),
            runs.join(", "),
            median(&c.p50),
            median(&c.p99),
            if c.rss.is_empty() {
                "–".to_string()
            } else {
                format!("{:.0}", median(&c.rss))
            },
            c.faults
        ));
    }
    let scenarios: Vec<String> = {
        let mut s: Vec<String> = cells.keys().map(|(s, _)| s.clone()).collect();
        s.dedup();
        s
    };
    for scenario in &scenarios {
        let rows: Vec<(&str, &Cell)> = cells
            .iter()
            .filter(|((s, _), _)| s == scenario)
            .map(|((_, l), c)| (l.as_str(), c))
            .collect();
        if scenario.starts_with("idle") {
            let bars: Vec<(&str, f64)> = rows.iter().map(|(l, c)| (*l, median(&c.rss))).collect();
            bar_chart(
                &charts.join(format!("{scenario}-rss.svg")),
                &format!("{scenario}: server RSS per idle connection (bytes)"),
                &bars,
            )?;
        } else {
            let bars: Vec<(&str, f64)> = rows.iter().map(|(l, c)| (*l, median(&c.rate))).collect();
            bar_chart(
                &charts.join(format!("{scenario}-throughput.svg")),
                &format!("{scenario}: messages/s (median)"),
                &bars,
            )?;
            let bars: Vec<(&str, f64)> = rows.iter().map(|(l, c)| (*l, median(&c.p99))).collect();
            bar_chart(
                &charts.join(format!("{scenario}-p99.svg")),
                &format!("{scenario}: p99 latency (µs, median)"),
                &bars,
            )?;
        }
    }
    print(&md);
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print(text: &str) {
    println!("{text}");
}

/// A horizontal bar per server.
fn bar_chart(
    path: &Path,
    title: &str,
    bars: &[(&str, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let height = 80 + 40 * bars.len() as u32;
    let root = SVGBackend::new(path, (800, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = bars.iter().map(|(_, v)| *v).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(170)
        .build_cartesian_2d(0.0..max, (0..bars.len()).into_segmented())?;
    let labels: Vec<String> = bars.iter().map(|(l, _)| l.to_string()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
        let style = Palette99::pick(i).filled();
        Rectangle::new(
            [
                (0.0, SegmentValue::Exact(i)),
                (*v, SegmentValue::Exact(i + 1)),
            ],
            style,
        )
    }))?;
    root.present()?;
    Ok(())
}
