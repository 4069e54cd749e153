//! Fuzz target for `wharf-gotmpl`: parses arbitrary UTF-8 as a template and
//! executes it against a fixed Docker-like JSON document. Neither step may
//! panic (errors are fine).
//!
//! Run with `cargo +nightly fuzz run gotmpl` from the repository root.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fn data() -> &'static Value {
    static DATA: OnceLock<Value> = OnceLock::new();
    DATA.get_or_init(|| {
        json!({
            "ID": "4f66ad9a0b2e1c8d7e6f5a4b3c2d1e0f",
            "Name": "/web",
            "Names": ["web", "frontend"],
            "State": "running",
            "Size": 1_000_000,
            "Huge": 18_446_744_073_709_551_615_u64,
            "Neg": -5,
            "Ratio": 1.5,
            "Empty": "",
            "Nil": null,
            "True": true,
            "EmptyList": [],
            "EmptyMap": {},
            "Labels": {"app": "web", "com.example": "x<y>&z"},
            "Server": {"Version": "24.0.7", "Os": "linux"},
            "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
            "Nested": [[1, 2], [3, [4, {"A": null}]]],
            "Unicode": "héllo wörld \u{1F600}"
        })
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(src) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(template) = wharf_gotmpl::Template::parse(src) {
        let _ = template.execute(data());
    }
});
