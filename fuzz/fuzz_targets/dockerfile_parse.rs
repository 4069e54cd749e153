//! Fuzz target for `wharf-dockerfile`: parses arbitrary bytes as a Dockerfile, dumps the AST,
//! parses the typed instructions, then exercises what a build does next (global ARGs, base
//! names, word expansion, `--mount` parsing) and reads the same bytes as a `.dockerignore`.
//! Nothing may panic (errors are fine).
//!
//! Run with `cargo +nightly fuzz run dockerfile_parse` from the repository root.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use wharf_dockerfile::ignore::{read_ignore_file, PatternMatcher};
use wharf_dockerfile::instructions::{self, Command};
use wharf_dockerfile::shell::{env_from_slice, Lex};

fuzz_target!(|data: &[u8]| {
    if let Ok(df) = wharf_dockerfile::parse_bytes(data) {
        let _ = df.ast.dump();
        let _ = df.format_warnings();
        for n in &df.ast.children {
            let _ = instructions::parse_instruction(n);
        }
        if let Ok((stages, meta)) = instructions::parse(&df.ast) {
            let lex = Lex::new(df.escape_token);
            let defaults = env_from_slice(&["TARGETPLATFORM=linux/amd64", "X=a b"]);
            if let Ok(env) = instructions::resolve_meta_args(&lex, &defaults, &meta, &BTreeMap::new()) {
                // Expanding every word of every command with huge values is the caller's
                // budget to set (a word is bounded, a command's many words are not).
                if env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > 1 << 20 {
                    return;
                }
                for s in &stages {
                    let _ = s.expand_base_name(&lex, &env);
                    let _ = s.expand_platform(&lex, &env);
                    for c in &s.commands {
                        let mut c = c.clone();
                        let _ = c.expand(&mut |w: &str| lex.process_word(w, &env));
                        match &c {
                            Command::Run(r) => {
                                let _ = r.mounts(Some(&mut |w: &str| lex.process_word(w, &env)));
                            }
                            Command::Expose(e) => {
                                let _ = e.expand_ports(&lex, &env);
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = wharf_dockerfile::detect_syntax(&text);
    if let Ok(patterns) = read_ignore_file(&text) {
        if let Ok(pm) = PatternMatcher::new(&patterns) {
            for p in ["a", "a/b/c", ".git/config", "src/main.rs", "node_modules/x/y"] {
                let _ = pm.matches_or_parent_matches(p);
            }
        }
    }
});
