//! Output: a table per scenario (median, min–max, n per engine), a final summary with the
//! ratios wharf/docker and wharf/podman, and the JSON-lines result file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::scenario::{Better, Samples, Series};
use crate::stats::{self, fmt};

/// How an engine fared in one scenario.
pub enum Outcome {
    NotInstalled(String),
    Ran { samples: Samples, error: Option<String> },
}

/// One scenario's results.
pub struct ScenarioResult {
    pub name: String,
    pub about: String,
    /// In column order.
    pub engines: Vec<(String, Outcome)>,
    /// (other tenants' cores, our cores, seconds) during the scenario.
    pub cpu: (f64, f64, f64),
}

impl ScenarioResult {
    fn series(&self, engine: &str, key: &str) -> Option<&Series> {
        self.engines.iter().find(|(e, _)| e == engine).and_then(|(_, o)| match o {
            Outcome::Ran { samples, .. } => samples.series.iter().find(|s| s.key == key),
            Outcome::NotInstalled(_) => None,
        })
    }

    /// Metric keys (with a representative series) in first-seen order across engines.
    fn keys(&self) -> Vec<&Series> {
        let mut out: Vec<&Series> = Vec::new();
        for (_, o) in &self.engines {
            if let Outcome::Ran { samples, .. } = o {
                for s in &samples.series {
                    if !out.iter().any(|x| x.key == s.key) {
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    fn median(&self, engine: &str, key: &str) -> Option<f64> {
        self.series(engine, key).filter(|s| !s.values.is_empty()).map(|s| stats::median(&s.values))
    }
}

/// Left-aligned first `left` columns, right-aligned others.
fn table(header: &[String], rows: &[Vec<String>], left: usize) -> String {
    let ncol = header.len();
    let mut w = vec![0; ncol];
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (i, c) in r.iter().enumerate().take(ncol) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate().take(ncol) {
            let pad = w[i] - c.chars().count();
            if i < left {
                line += c;
                line += &" ".repeat(pad);
            } else {
                line += &" ".repeat(pad);
                line += c;
            }
            line += "  ";
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}

fn cell(s: Option<&Series>, o: &Outcome) -> String {
    match (s, o) {
        (_, Outcome::NotInstalled(_)) => "not installed".into(),
        (Some(s), _) if !s.values.is_empty() => {
            let v = &s.values;
            if v.len() == 1 {
                fmt(v[0])
            } else {
                format!("{} ({}–{}, n={})", fmt(stats::median(v)), fmt(stats::min(v)), fmt(stats::max(v)), v.len())
            }
        }
        (_, Outcome::Ran { error: Some(_), .. }) => "failed".into(),
        (Some(s), _) if s.skipped.is_some() => "skipped".into(),
        (_, Outcome::Ran { samples, .. }) if samples.skipped.is_some() => "skipped".into(),
        _ => "–".into(),
    }
}

/// The table of one scenario, with its notes and errors.
pub fn scenario_table(r: &ScenarioResult) -> String {
    let mut header = vec!["metric".to_string(), "unit".into(), "better".into()];
    header.extend(r.engines.iter().map(|(e, _)| format!("{e}: median (min–max, n)")));
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for k in r.keys() {
        let mut row = vec![k.label.clone(), k.unit.to_string(), k.better.as_str().to_string()];
        for (e, o) in &r.engines {
            let s = r.series(e, &k.key);
            row.push(cell(s, o));
            if let Some(s) = s {
                let mut n = s.notes.clone();
                if let Some(why) = &s.skipped {
                    n.push(format!("{}skipped: {why}", if s.values.is_empty() { "" } else { "partly " }));
                }
                if !n.is_empty() {
                    notes.push(format!("{e}, {}: {}", k.label.trim(), n.join("; ")));
                }
            }
        }
        rows.push(row);
    }
    let mut out = format!("\n== {}: {}\n", r.name, r.about);
    out += &table(&header, &rows, 3);
    for n in notes {
        let _ = writeln!(out, "  note: {n}");
    }
    for (e, o) in &r.engines {
        match o {
            Outcome::Ran { error: Some(err), .. } => {
                let _ = writeln!(out, "  ERROR {e}: {}", err.replace('\n', "\n    "));
            }
            Outcome::NotInstalled(why) => {
                let _ = writeln!(out, "  {e}: not installed ({why}), skipped");
            }
            Outcome::Ran { samples: Samples { skipped: Some(why), .. }, .. } => {
                let _ = writeln!(out, "  {e}: skipped: {}", why.replace('\n', "\n    "));
            }
            _ => {}
        }
    }
    let (others, ours, el) = r.cpu;
    let _ = writeln!(
        out,
        "  machine: other tenants used {others:.2} cores, this harness and its daemons {ours:.2}, over {el:.1} s"
    );
    out
}

/// Which engines get a ratio column: every selected engine except wharf, when wharf is selected.
fn ratio_engines(results: &[ScenarioResult]) -> Vec<String> {
    let Some(first) = results.first() else { return Vec::new() };
    if !first.engines.iter().any(|(e, _)| e == "wharf") {
        return Vec::new();
    }
    first.engines.iter().map(|(e, _)| e.clone()).filter(|e| e != "wharf").collect()
}

/// A summary row: (scenario, series, medians per engine, ratios per other engine).
type Row<'a> = (&'a str, &'a Series, Vec<Option<f64>>, Vec<Option<f64>>);

fn summary_rows(results: &[ScenarioResult]) -> Vec<Row<'_>> {
    let others = ratio_engines(results);
    let mut rows = Vec::new();
    for r in results {
        for k in r.keys().into_iter().filter(|k| k.headline) {
            let meds: Vec<Option<f64>> = r.engines.iter().map(|(e, _)| r.median(e, &k.key)).collect();
            let w = r.median("wharf", &k.key);
            let ratios = others
                .iter()
                .map(|o| match (w, r.median(o, &k.key)) {
                    (Some(w), Some(o)) if o != 0.0 => Some(w / o),
                    _ => None,
                })
                .collect();
            rows.push((r.name.as_str(), k, meds, ratios));
        }
    }
    rows
}

/// The final summary: headline medians and ratios.
pub fn summary(results: &[ScenarioResult]) -> String {
    let Some(first) = results.first() else { return String::new() };
    let others = ratio_engines(results);
    let mut header = vec!["scenario".to_string(), "metric".into(), "unit".into(), "better".into()];
    header.extend(first.engines.iter().map(|(e, _)| e.clone()));
    header.extend(others.iter().map(|o| format!("wharf/{o}")));
    let rows: Vec<Vec<String>> = summary_rows(results)
        .into_iter()
        .map(|(sc, k, meds, ratios)| {
            let mut row = vec![sc.to_string(), k.label.clone(), k.unit.into(), k.better.as_str().into()];
            row.extend(meds.iter().map(|m| m.map_or("–".into(), fmt)));
            row.extend(ratios.iter().map(|r| r.map_or("–".into(), fmt_ratio)));
            row
        })
        .collect();
    let mut out = String::from(
        "\n== summary: medians; ratio = wharf ÷ other engine. For ms and MiB lower is better (ratio < 1: wharf \
         ahead); for req/s and MiB/s higher is better (ratio > 1: wharf ahead)\n",
    );
    out += &table(&header, &rows, 4);
    out
}

/// A ratio with three significant digits: 0.0532, 0.141, 2.68, 277, 18690.
fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() || r <= 0.0 {
        return "–".into();
    }
    let decimals = (2 - r.log10().floor() as i32).max(0) as usize;
    format!("{r:.decimals$}")
}

/// UTC now as (`20250131T235959Z`, `2025-01-31T23:59:59Z`).
pub fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // civil_from_days (Howard Hinnant)
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    (format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z"), format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"))
}

/// Writes `<dir>/<stamp>.json`: one JSON object per line — `run`, then `metric`, `error`,
/// `skipped`, `not_installed`, `cpu` per scenario, then `ratio` lines.
pub fn write_json(
    dir: &Path,
    stamp: &str,
    run: serde_json::Value,
    results: &[ScenarioResult],
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{stamp}.json"));
    let mut lines = vec![run];
    for r in results {
        for (e, o) in &r.engines {
            match o {
                Outcome::NotInstalled(why) => {
                    lines.push(json!({"type": "not_installed", "scenario": r.name, "engine": e, "reason": why}))
                }
                Outcome::Ran { samples, error } => {
                    for s in &samples.series {
                        let v = &s.values;
                        lines.push(json!({
                            "type": "metric", "scenario": r.name, "engine": e, "metric": s.key, "label": s.label.trim(),
                            "unit": s.unit, "better": s.better.as_str(), "headline": s.headline, "n": v.len(),
                            "median": stats::median(v), "min": stats::min(v), "max": stats::max(v),
                            "mean": stats::mean(v), "samples": v, "notes": s.notes, "skipped": s.skipped,
                        }));
                    }
                    if let Some(why) = &samples.skipped {
                        lines.push(json!({"type": "skipped", "scenario": r.name, "engine": e, "reason": why}));
                    }
                    if let Some(err) = error {
                        lines.push(json!({"type": "error", "scenario": r.name, "engine": e, "message": err}));
                    }
                }
            }
        }
        lines.push(json!({"type": "cpu", "scenario": r.name, "others_cores": r.cpu.0, "ours_cores": r.cpu.1,
                          "seconds": r.cpu.2}));
    }
    let others = ratio_engines(results);
    for (sc, k, _, ratios) in summary_rows(results) {
        for (o, ratio) in others.iter().zip(ratios) {
            let r = results.iter().find(|r| r.name == sc).expect("scenario");
            lines.push(json!({
                "type": "ratio", "scenario": sc, "metric": k.key, "unit": k.unit, "better": k.better.as_str(),
                "wharf": r.median("wharf", &k.key), "other": o, "other_median": r.median(o, &k.key), "ratio": ratio,
                "wharf_ahead": ratio.map(|x| if k.better == Better::Lower { x < 1.0 } else { x > 1.0 }),
            }));
        }
    }
    let mut f = std::fs::File::create(&path)?;
    for l in lines {
        // NaN/inf (empty series) become null in serde_json
        writeln!(f, "{l}")?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns() {
        let t = table(&["a".into(), "bb".into()], &[vec!["xyz".into(), "1".into()]], 1);
        assert_eq!(t, "a    bb\nxyz   1\n");
    }

    #[test]
    fn ratios() {
        assert_eq!(fmt_ratio(0.0532), "0.0532");
        assert_eq!(fmt_ratio(0.141), "0.141");
        assert_eq!(fmt_ratio(2.676), "2.68");
        assert_eq!(fmt_ratio(18689.9), "18690");
        assert_eq!(fmt_ratio(0.00005362), "0.0000536");
    }

    #[test]
    fn timestamp_shape() {
        let (a, b) = utc_now();
        assert_eq!((a.len(), b.len()), (16, 20));
    }
}
