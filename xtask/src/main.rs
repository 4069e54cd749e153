//! `cargo xtask <task>`: project chores that need no extra tools.
//!
//! - `tidy`: fails on a forbidden dependency between workspace crates (the layering rules of
//!   ARCHITECTURE.md), on a crate that ARCHITECTURE.md does not map, and on a Rust file without a
//!   `//!` header.
//! - `test`: the whole test suite, as README.md's test command: tidy, format check, build of all
//!   binaries (integration tests run them), then `cargo test` of the workspace.

mod tidy;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("tidy") => tidy::run(&root),
        Some("test") => test(&root, &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask tidy | cargo xtask test [cargo test args]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn cargo(root: &std::path::Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("+ cargo {}", args.join(" "));
    let st = Command::new(cargo).args(args).current_dir(root).status().map_err(|e| e.to_string())?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({st})", args.join(" ")))
    }
}

fn test(root: &std::path::Path, extra: &[String]) -> Result<(), String> {
    tidy::run(root)?;
    cargo(root, &["fmt", "--all", "--", "--check"])?;
    cargo(root, &["build", "--workspace", "--bins"])?;
    let mut args = vec!["test", "--workspace", "--no-fail-fast"];
    args.extend(extra.iter().map(String::as_str));
    cargo(root, &args)
}
