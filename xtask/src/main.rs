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
    let cargo_bin = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("+ cargo {}", args.join(" "));
    let mut child = Command::new(cargo_bin)
        .args(&args)
        .current_dir(root)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Echo the output as it comes, and add up the per-binary results into one closing line.
    let mut total = Tally::default();
    if let Some(out) = child.stdout.take() {
        for line in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok) {
            println!("{line}");
            total.add(&line);
        }
    }
    let st = child.wait().map_err(|e| e.to_string())?;
    println!("summary: {} passed, {} failed, {} skipped", total.passed, total.failed, total.ignored);
    if st.success() && total.failed == 0 {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({st})", args.join(" ")))
    }
}

/// Sums cargo's `test result: ok. 3 passed; 0 failed; 1 ignored; …` lines.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Tally {
    fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else { return };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (words.next(), words.next()) else { continue };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn tallies_cargo_result_lines() {
        let mut t = Tally::default();
        t.add("test result: ok. 39 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        t.add("test result: FAILED. 9 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.37s");
        t.add("test something ... ok");
        assert_eq!(t, Tally { passed: 48, failed: 1, ignored: 2 });
    }
}
