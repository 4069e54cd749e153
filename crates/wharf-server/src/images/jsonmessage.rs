//! Docker's JSON message stream (moby's `pkg/jsonmessage` and `pkg/streamformatter`): how a
//! [`Progress`] report goes on the wire, one object per line ended by `\r\n` as dockerd writes
//! them, including the progress-bar text (`"[==>   ]  1.2MB/3MB"`) that the docker CLI prints
//! verbatim.
//!
//! Shapes, with Go's `omitempty` rules kept (empty strings and zero counts are left out):
//! - `Status` → `{"status":…,"progressDetail":{"current":…,"total":…},"progress":…,"id":…}`;
//!   `progressDetail`/`progress` only when counts were given.
//! - `Stream` → `{"stream":…}`; `Aux` → `{"aux":<json>}`;
//! - `Error` → `{"errorDetail":{"message":…},"error":…}`.

use bytes::Bytes;
use serde::Serialize;
use wharf_types::Progress;

/// What ends each message, as dockerd's `streamformatter`.
pub(crate) const LINE_END: &str = "\r\n";

/// Width of the bar between the brackets (dockerd renders for a 200-column terminal, so the bar
/// is always drawn).
const BAR_WIDTH: usize = 50;

/// Go's `jsonmessage.JSONMessage`, restricted to what a daemon writes; field order as Go's.
#[derive(Serialize, Default)]
struct JsonMessage<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    stream: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    status: &'a str,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    progress_detail: Option<ProgressDetail>,
    #[serde(skip_serializing_if = "String::is_empty")]
    progress: String,
    #[serde(skip_serializing_if = "is_empty")]
    id: &'a str,
    #[serde(rename = "errorDetail", skip_serializing_if = "Option::is_none")]
    error_detail: Option<ErrorDetail<'a>>,
    #[serde(skip_serializing_if = "is_empty")]
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aux: Option<serde_json::Value>,
}

/// Go's `jsonmessage.JSONProgress` (its counts are `omitempty`).
#[derive(Serialize)]
struct ProgressDetail {
    #[serde(skip_serializing_if = "is_zero")]
    current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    total: u64,
}

/// Go's `jsonmessage.JSONError`.
#[derive(Serialize)]
struct ErrorDetail<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    message: &'a str,
}

fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One report as one wire line, `\r\n` included.
pub(crate) fn line(p: &Progress) -> Bytes {
    let msg = match p {
        Progress::Status { id, status, current, total } => {
            let counted = current.is_some() || total.is_some();
            let (current, total) = (current.unwrap_or(0), total.unwrap_or(0));
            JsonMessage {
                status,
                id,
                progress_detail: counted.then_some(ProgressDetail { current, total }),
                progress: if counted { progress_text(current, total) } else { String::new() },
                ..Default::default()
            }
        }
        Progress::Stream(s) => JsonMessage { stream: s, ..Default::default() },
        Progress::Aux(raw) => JsonMessage {
            aux: Some(serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.clone()))),
            ..Default::default()
        },
        Progress::Error(m) => {
            JsonMessage { error_detail: Some(ErrorDetail { message: m }), error: m, ..Default::default() }
        }
    };
    let mut out = serde_json::to_string(&msg).unwrap_or_else(|_| "{}".into());
    out.push_str(LINE_END);
    Bytes::from(out)
}

/// `JSONProgress.String()` as dockerd renders it: `[====>     ] 1.23MB/4.56MB` (bar, then the
/// done/total sizes with the done part padded to 8 columns); only the size when the total is
/// unknown; only the done size when it exceeds the total; nothing when both are zero.
pub(crate) fn progress_text(current: u64, total: u64) -> String {
    if current == 0 && total == 0 {
        return String::new();
    }
    let done = human_size(current);
    if total == 0 {
        return format!("{done:>8}");
    }
    let filled = (((current as f64 / total as f64 * 100.0) as i64 / 2).clamp(0, BAR_WIDTH as i64)) as usize;
    let bar = format!("[{}>{}] ", "=".repeat(filled), " ".repeat(BAR_WIDTH - filled));
    if current > total {
        format!("{bar}{done:>8}")
    } else {
        format!("{bar}{done:>8}/{}", human_size(total))
    }
}

/// go-units' `HumanSize`: decimal units (`B`, `kB`, `MB`, … `YB`) with at most 4 significant
/// digits and no trailing zeros: `512B`, `12.3kB`, `32.77kB`, `4.261MB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", format_g(size, 4), UNITS[unit])
}

/// Go's `%.{prec}g` for a non-negative number: `prec` significant digits, trailing zeros
/// dropped, exponent form only for exponents below -4 or from `prec` up.
fn format_g(x: f64, prec: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.*e}", prec.saturating_sub(1), x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim_fraction(mantissa), exp.unsigned_abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    trim_fraction(&format!("{x:.decimals$}"))
}

fn trim_fraction(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(p: Progress) -> serde_json::Value {
        let l = line(&p);
        let text = std::str::from_utf8(&l).unwrap();
        assert!(text.ends_with("\r\n"), "{text:?}");
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn human_sizes_as_go_units() {
        let cases = [
            (0, "0B"),
            (1, "1B"),
            (512, "512B"),
            (999, "999B"),
            (1000, "1kB"),
            (1234, "1.234kB"),
            (12_300, "12.3kB"),
            (32_768, "32.77kB"),
            (999_999, "1000kB"),
            (1_000_000, "1MB"),
            (4_261_376, "4.261MB"),
            (1_200_000, "1.2MB"),
            (3_000_000_000, "3GB"),
            (u64::MAX, "18.45EB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_size(n), want, "{n}");
        }
        assert_eq!(format_g(12345.0, 4), "1.234e+04");
        assert_eq!(format_g(0.00001234, 4), "1.234e-05");
        assert_eq!(format_g(9.9996, 4), "10");
    }

    #[test]
    fn progress_bar_as_docker_draws_it() {
        assert_eq!(progress_text(32_768, 4_261_376), format!("[>{}]  32.77kB/4.261MB", " ".repeat(50)));
        assert_eq!(
            progress_text(1_200_000, 3_000_000),
            format!("[{}>{}]    1.2MB/3MB", "=".repeat(20), " ".repeat(30))
        );
        assert_eq!(progress_text(3_000_000, 3_000_000), format!("[{}>]      3MB/3MB", "=".repeat(50)));
        assert_eq!(progress_text(5_000_000, 3_000_000), format!("[{}>]      5MB", "=".repeat(50)));
        assert_eq!(progress_text(2048, 0), " 2.048kB");
        assert_eq!(progress_text(0, 0), "");
    }

    #[test]
    fn status_lines() {
        let v = json(Progress::Status {
            id: "d51af96cf93e".into(),
            status: "Loading layer".into(),
            current: Some(32_768),
            total: Some(4_261_376),
        });
        assert_eq!(v["status"], "Loading layer");
        assert_eq!(v["id"], "d51af96cf93e");
        assert_eq!(v["progressDetail"], serde_json::json!({"current": 32768, "total": 4261376}));
        assert_eq!(v["progress"], format!("[>{}]  32.77kB/4.261MB", " ".repeat(50)));

        let v = json(Progress::status("", "Loading"));
        assert_eq!(v, serde_json::json!({"status": "Loading"}));

        let v = json(Progress::Status { id: "x".into(), status: "Waiting".into(), current: Some(0), total: None });
        assert_eq!(v, serde_json::json!({"status": "Waiting", "progressDetail": {}, "id": "x"}));
    }

    #[test]
    fn stream_aux_and_error_lines() {
        assert_eq!(
            json(Progress::Stream("Loaded image: busybox:latest\n".into())),
            serde_json::json!({"stream": "Loaded image: busybox:latest\n"})
        );
        assert_eq!(
            json(Progress::Aux(r#"{"ID":"sha256:abc"}"#.into())),
            serde_json::json!({"aux": {"ID": "sha256:abc"}})
        );
        assert_eq!(json(Progress::Aux("not json".into())), serde_json::json!({"aux": "not json"}));
        assert_eq!(
            json(Progress::Error("unexpected EOF".into())),
            serde_json::json!({"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"})
        );
        let text = String::from_utf8(line(&Progress::Error("boom".into())).to_vec()).unwrap();
        assert_eq!(text, "{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}\r\n");
    }
}
