//! Build script: records the compiler, commit and build time for `wharf version`
//! (`WHARF_GIT_COMMIT` / `WHARF_BUILD_TIME` in the environment override the last two).

use std::process::Command;

fn out(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    println!("cargo:rustc-env=WHARF_RUSTC_VERSION={}", out(&rustc, &["--version"]));
    let commit = std::env::var("WHARF_GIT_COMMIT").unwrap_or_else(|_| out("git", &["rev-parse", "--short=7", "HEAD"]));
    if !commit.is_empty() {
        println!("cargo:rustc-env=WHARF_GIT_COMMIT={commit}");
    }
    let built = std::env::var("WHARF_BUILD_TIME").unwrap_or_else(|_| {
        let at = std::env::var("SOURCE_DATE_EPOCH").map(|e| format!("@{e}")).unwrap_or_else(|_| "now".into());
        out("date", &["-u", "-d", &at, "+%Y-%m-%dT%H:%M:%SZ"])
    });
    if !built.is_empty() {
        println!("cargo:rustc-env=WHARF_BUILD_TIME={built}");
    }
    for head in ["../../.git/HEAD", "../../.git/refs/heads"] {
        if std::path::Path::new(head).exists() {
            println!("cargo:rerun-if-changed={head}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WHARF_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=WHARF_BUILD_TIME");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}
