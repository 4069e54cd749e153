//! wharf-dockerfile: a Dockerfile parser to BuildKit's standard. No crate on crates.io parses
//! Dockerfiles the way BuildKit does (its line continuations, flags, heredocs, per-instruction
//! argument rules, word expansion and error texts), which is why we write our own; this one
//! follows BuildKit's `frontend/dockerfile` packages and moby's `patternmatcher`, quirks
//! included, so that `wharf build` accepts and refuses what `docker build` does.
//!
//! - [`parse`] / [`parse_bytes`]: the AST (BuildKit's `parser.Parse`): parser directives
//!   ([`Directive`], [`detect_syntax`]), comments, continuations, flags, exec vs shell form,
//!   heredocs ([`Heredoc`]), warnings; [`Ast::dump`] prints BuildKit's `Node.Dump()` format so
//!   our AST can be diffed with BuildKit's.
//! - [`shell::Lex`]: word expansion and splitting (BuildKit's `shell.Lex`).
//! - [`instructions`]: typed instructions and stages (BuildKit's `instructions.Parse`), with
//!   `RUN --mount` parsing ([`instructions::Mount`]), global ARGs and base-name expansion.
//! - [`ignore`]: `.dockerignore` reading and matching, and which ignore file applies.
//!
//! # Invariants
//! - Pure: no I/O, no async, no global state, no dependencies; client crates may use it.
//! - Error texts are BuildKit's, byte for byte; the line range is in [`Error::location`], as
//!   BuildKit keeps it beside the message.
//! - No input makes it panic (fuzz target `dockerfile_parse`); inputs are bounded
//!   ([`MAX_DOCKERFILE_BYTES`], [`MAX_LINE_BYTES`], [`MAX_INSTRUCTION_BYTES`],
//!   [`MAX_INSTRUCTIONS`], [`MAX_ONBUILD_DEPTH`], [`shell::MAX_EXPANSION_DEPTH`]) and pattern
//!   matching runs in linear time.

mod directives;
mod error;
mod gostr;
pub mod ignore;
pub mod instructions;
mod json;
mod parser;
mod re;
pub mod shell;
mod suggest;

pub use directives::{detect_syntax, parse_directive, Directive, Syntax, VALID_DIRECTIVES};
pub use error::{Error, ErrorKind, Location};
pub use gostr::{format_duration, go_quote, parse_duration};
pub use parser::{
    chomp_heredoc_content, heredocs_from_line, parse, parse_bytes, parse_heredoc, Arg, Ast, Dockerfile, Heredoc, Node,
    Warning, DEFAULT_ESCAPE_TOKEN, MAX_DOCKERFILE_BYTES, MAX_INSTRUCTIONS, MAX_INSTRUCTION_BYTES, MAX_LINE_BYTES,
    MAX_ONBUILD_DEPTH,
};
