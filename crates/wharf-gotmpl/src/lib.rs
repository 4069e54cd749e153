//! Go `text/template` engine subset used by `--format`, with the Docker
//! CLI's template functions.
//!
//! ```
//! let data = serde_json::json!({"Names": ["web", "db"], "State": "running"});
//! let out = wharf_gotmpl::render(
//!     r#"{{join .Names ","}} {{if eq .State "running"}}up{{else}}down{{end}}"#,
//!     &data,
//! )
//! .unwrap();
//! assert_eq!(out, "web,db up");
//! ```
//!
//! Supported: text and actions with trim markers and comments; fields,
//! `.`, `$`, variables (`:=`, `=`), chained fields on variables and
//! parenthesized pipelines; pipelines; string (interpreted and raw),
//! character, number, boolean and `nil` literals; `if`/`else if`/`else`,
//! `range` (arrays, objects in sorted key order, integers; `else`, `break`,
//! `continue`), `with`/`else with`, `define`/`template`/`block`; Go's
//! builtins (`and`, `or`, `not`, `len`, `index`, `slice`, `print`,
//! `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `html`, `js`,
//! `urlquery`) and Docker's (`json`, `split`, `join`, `title`, `lower`,
//! `upper`, `pad`, `padWithSpace`, `truncate`).
//!
//! Values print like Go's `fmt` prints decoded JSON: integers without a
//! decimal point, other numbers in Go's shortest float form (`1e+06`),
//! arrays as `[a b]`, objects as `map[k:v]` (sorted keys), `null` as
//! `<nil>` and a missing map key as `<no value>`. `json` encodes like
//! Docker's (Go's encoder without HTML escaping), with sorted object keys.
//!
//! Differences from Go, deliberately: integers and floats compare by value
//! in `eq`/`lt`/... (Go rejects `int` vs `float64`); `join` accepts any
//! array and prints non-string elements with `%v`; strings are UTF-8, so
//! byte-wise `slice`/`truncate` results that would split a character are
//! repaired (`truncate` backs off to a character boundary, `slice` and
//! `\x`/octal escapes substitute U+FFFD). Not supported: methods and
//! `call` (JSON has no functions), complex and hexadecimal-float literals,
//! `%b` on floats, custom delimiters and the `missingkey` option.
//!
//! Errors use Go's messages and positions, e.g.
//! `template: :1: function "foo" not defined` or
//! `template: :1:7: executing "" at <.Name.Foo>: can't evaluate field Foo in
//! type string`. Hostile input cannot panic or overflow the stack: nesting
//! is limited to 50 levels when parsing and 100 when executing (template
//! recursion included), and execution stops after 10 million steps or
//! 64 MiB of output.

mod exec;
mod format;
mod funcs;
mod lex;
mod parse;
mod value;

#[cfg(test)]
mod tests;

/// A template parse or execution error; displays as `template: ...` like Go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {0}")]
pub struct Error(pub String);

/// A parsed template, ready to execute any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    trees: parse::Trees,
}

impl Template {
    /// Parses `src` as a Go template.
    pub fn parse(src: &str) -> Result<Template, Error> {
        let trees = parse::parse(src)?;
        Ok(Template { src: src.to_string(), trees })
    }

    /// Executes the template against `data`.
    pub fn execute(&self, data: &serde_json::Value) -> Result<String, Error> {
        exec::execute(&self.src, &self.trees.trees, data)
    }
}

/// Parses and executes `src` against `data`.
pub fn render(src: &str, data: &serde_json::Value) -> Result<String, Error> {
    Template::parse(src)?.execute(data)
}
