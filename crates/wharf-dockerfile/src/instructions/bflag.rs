//! BuildKit's `BFlags`: the `--name[=value]` flags of an instruction, checked against the flags
//! the instruction accepts, with BuildKit's texts (`unknown flag: --x (did you mean …?)`,
//! `duplicate flag specified: --x`, `missing a value on flag: --x`,
//! `expecting boolean value for flag --x, not: y`). `--` ends the flags.

use crate::gostr::to_lower;
use crate::suggest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    String,
    Strings,
}

#[derive(Debug, Clone)]
struct Flag {
    name: &'static str,
    kind: Kind,
    value: String,
    values: Vec<String>,
}

/// The flags of one instruction.
#[derive(Debug, Clone)]
pub(crate) struct BFlags {
    args: Vec<String>,
    flags: Vec<Flag>,
    used: Vec<&'static str>,
}

impl BFlags {
    pub(crate) fn new(args: &[String]) -> BFlags {
        BFlags { args: args.to_vec(), flags: Vec::new(), used: Vec::new() }
    }

    fn add(&mut self, name: &'static str, kind: Kind, value: &str) {
        self.flags.push(Flag { name, kind, value: value.to_string(), values: Vec::new() });
    }

    pub(crate) fn add_bool(&mut self, name: &'static str, default: bool) {
        self.add(name, Kind::Bool, if default { "true" } else { "false" });
    }

    pub(crate) fn add_string(&mut self, name: &'static str, default: &str) {
        self.add(name, Kind::String, default);
    }

    pub(crate) fn add_strings(&mut self, name: &'static str) {
        self.add(name, Kind::Strings, "");
    }

    fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// A string flag's value (its default when unused).
    pub(crate) fn string(&self, name: &str) -> String {
        self.flag(name).map(|f| f.value.clone()).unwrap_or_default()
    }

    /// A bool flag's value.
    pub(crate) fn bool(&self, name: &str) -> bool {
        self.flag(name).is_some_and(|f| f.value == "true")
    }

    /// A repeatable flag's values.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.flag(name).map(|f| f.values.clone()).unwrap_or_default()
    }

    /// Whether the flag was given.
    pub(crate) fn is_used(&self, name: &str) -> bool {
        self.used.contains(&name)
    }

    /// The flags given, in order of first use.
    pub(crate) fn used(&self) -> Vec<String> {
        self.used.iter().map(|s| s.to_string()).collect()
    }

    /// BuildKit's `BFlags.Parse`.
    pub(crate) fn parse(&mut self) -> Result<(), String> {
        let args = std::mem::take(&mut self.args);
        for a in &args {
            if a == "--" {
                return Ok(());
            }
            if !a.starts_with("--") {
                return Err(format!("arg should start with -- : {a}"));
            }
            let (flag_name, value, has_value) = match a.split_once('=') {
                Some((n, v)) => (n, v, true),
                None => (a.as_str(), "", false),
            };
            let arg = &flag_name[2..];
            let names: Vec<&str> = self.flags.iter().map(|f| f.name).collect();
            let Some(idx) = self.flags.iter().position(|f| f.name == arg) else {
                return Err(suggest::wrap(format!("unknown flag: {flag_name}"), arg, &names, true));
            };
            let name = self.flags[idx].name;
            let kind = self.flags[idx].kind;
            if self.used.contains(&name) && kind != Kind::Strings {
                return Err(format!("duplicate flag specified: {flag_name}"));
            }
            if !self.used.contains(&name) {
                self.used.push(name);
            }
            let flag = &mut self.flags[idx];
            match kind {
                Kind::Bool => {
                    if has_value && value.is_empty() {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    }
                    flag.value = match to_lower(value).as_str() {
                        "true" | "" => "true".into(),
                        "false" => "false".into(),
                        _ => return Err(format!("expecting boolean value for flag {flag_name}, not: {value}")),
                    };
                }
                Kind::String => {
                    if !has_value {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    }
                    flag.value = value.to_string();
                }
                Kind::Strings => {
                    if !has_value {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    }
                    flag.values.push(value.to_string());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], setup: impl Fn(&mut BFlags)) -> Result<BFlags, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut bf = BFlags::new(&args);
        setup(&mut bf);
        bf.parse().map(|_| bf)
    }

    #[test]
    fn like_buildkit_bflag_test() {
        // BuildKit's bflag_test.go TestBuilderFlags, plus the texts of its errors.
        let s = |bf: &mut BFlags| {
            bf.add_string("str1", "HI");
            bf.add_bool("bool1", false);
        };
        assert!(parse(&[], s).is_ok());
        assert!(parse(&["--"], s).is_ok());
        let bf = parse(&[], s).unwrap();
        assert_eq!(bf.string("str1"), "HI");
        assert!(!bf.bool("bool1") && !bf.is_used("str1"));
        assert_eq!(parse(&["--str1"], s).unwrap_err(), "missing a value on flag: --str1");
        assert_eq!(parse(&["--str1="], s).unwrap().string("str1"), "");
        assert_eq!(parse(&["--str1=BYE"], s).unwrap().string("str1"), "BYE");
        assert!(parse(&["--bool1"], s).unwrap().bool("bool1"));
        assert!(parse(&["--bool1=TRUE"], s).unwrap().bool("bool1"));
        assert!(!parse(&["--bool1=false"], s).unwrap().bool("bool1"));
        assert_eq!(parse(&["--bool1=false1"], s).unwrap_err(), "expecting boolean value for flag --bool1, not: false1");
        assert_eq!(parse(&["--bool1="], s).unwrap_err(), "missing a value on flag: --bool1");
        assert_eq!(parse(&["--bool2"], s).unwrap_err(), "unknown flag: --bool2 (did you mean bool1?)");
        assert_eq!(parse(&["--xyzzy"], s).unwrap_err(), "unknown flag: --xyzzy");
        assert_eq!(parse(&["--str1=a", "--str1=b"], s).unwrap_err(), "duplicate flag specified: --str1");
        assert_eq!(parse(&["-x"], s).unwrap_err(), "arg should start with -- : -x");
        let bf = parse(&["--bool1", "--str1=BYE"], s).unwrap();
        assert!(bf.bool("bool1") && bf.string("str1") == "BYE");
        let bf = parse(&["--m=a", "--m=b"], |bf| bf.add_strings("m")).unwrap();
        assert_eq!(bf.strings("m"), ["a", "b"]);
        assert_eq!(parse(&["--", "--bogus"], s).unwrap().used(), Vec::<String>::new());
    }
}
