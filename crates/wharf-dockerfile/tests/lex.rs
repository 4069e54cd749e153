//! Word expansion against BuildKit's lexer tests: the cases of `shell/envVarTest` (run by
//! `TestShellParser4EnvVars`, with its environment), `shell/wordsTest` (`TestShellParser4Words`)
//! and `lex_test.go`'s modifier tables.

use std::collections::BTreeMap;

use wharf_dockerfile::shell::{env_from_slice, Lex, NoEnv};

fn env() -> Vec<(String, String)> {
    env_from_slice(&["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="])
}

/// `(input, expected)`; `None` is an error.
const ENV_VAR_TEST: &[(&str, Option<&str>)] = &[
    ("hello", Some("hello")),
    ("he'll'o", Some("hello")),
    ("he'llo", None),
    ("he\\'llo", Some("he'llo")),
    ("he\\\\'llo", None),
    ("abc\\tdef", Some("abctdef")),
    ("\"abc\\tdef\"", Some("abc\\tdef")),
    ("\"abc\\\\tdef\"", Some("abc\\tdef")),
    ("'abc\\tdef'", Some("abc\\tdef")),
    ("hello\\", Some("hello")),
    ("hello\\\\", Some("hello\\")),
    ("\"hello", None),
    ("\"hello\\\"", None),
    ("\"hel'lo\"", Some("hel'lo")),
    ("'hello", None),
    ("'hello\\'", Some("hello\\")),
    ("'hello\\there'", Some("hello\\there")),
    ("'hello\\\\there'", Some("hello\\\\there")),
    ("\"''\"", Some("''")),
    ("$.", Some("$.")),
    ("he$1x", Some("hex")),
    ("he$.x", Some("he$.x")),
    ("he$pwd.", Some("he.")),
    ("he$PWD", Some("he/home")),
    ("he\\$PWD", Some("he$PWD")),
    ("he\\\\$PWD", Some("he\\/home")),
    ("\"he\\$PWD\"", Some("he$PWD")),
    ("\"he\\\\$PWD\"", Some("he\\/home")),
    ("\\${}", Some("${}")),
    ("\\${}aaa", Some("${}aaa")),
    ("he\\${}", Some("he${}")),
    ("he\\${}xx", Some("he${}xx")),
    ("${}", None),
    ("${}aaa", None),
    ("he${}", None),
    ("he${}xx", None),
    ("he${hi}", Some("he")),
    ("he${hi}xx", Some("hexx")),
    ("he${PWD}", Some("he/home")),
    ("he${.}", None),
    ("he${XXX:-000}xx", Some("he000xx")),
    ("he${PWD:-000}xx", Some("he/homexx")),
    ("he${XXX:-$PWD}xx", Some("he/homexx")),
    ("he${XXX:-${PWD:-yyy}}xx", Some("he/homexx")),
    ("he${XXX:-${YYY:-yyy}}xx", Some("heyyyxx")),
    ("he${XXX:YYY}", None),
    ("he${XXX?}", None),
    ("he${XXX:?}", None),
    ("he${PWD?}", Some("he/home")),
    ("he${PWD:?}", Some("he/home")),
    ("he${NULL?}", Some("he")),
    ("he${NULL:?}", None),
    ("he${XXX:+${PWD}}xx", Some("hexx")),
    ("he${PWD:+${XXX}}xx", Some("hexx")),
    ("he${PWD:+${SHELL}}xx", Some("hebashxx")),
    ("he${XXX:+000}xx", Some("hexx")),
    ("he${PWD:+000}xx", Some("he000xx")),
    ("'he${XX}'", Some("he${XX}")),
    ("\"he${PWD}\"", Some("he/home")),
    ("\"he'$PWD'\"", Some("he'/home'")),
    ("\"$PWD\"", Some("/home")),
    ("'$PWD'", Some("$PWD")),
    ("'\\$PWD'", Some("\\$PWD")),
    ("'\"hello\"'", Some("\"hello\"")),
    ("he${PWD", None),
    ("he${PWD:=000}xx", None),
    ("he${PWD:+${PWD}:}xx", Some("he/home:xx")),
    ("he${XXX:-\\$PWD:}xx", Some("he$PWD:xx")),
    ("he${XXX:-\\${PWD}z}xx", Some("he${PWDz}xx")),
    ("안녕하세요", Some("안녕하세요")),
    ("안'녕'하세요", Some("안녕하세요")),
    ("안'녕하세요", None),
    ("안녕\\'하세요", Some("안녕'하세요")),
    ("안녕$1x", Some("안녕x")),
    ("안녕${XXX:-${YYY:-yyy}}xx", Some("안녕yyyxx")),
    ("$KOREAN", Some("한국어")),
    ("안녕$KOREAN", Some("안녕한국어")),
    ("${{aaa}", None),
    ("${aaa}}", Some("}")),
    ("${aaa", None),
    ("${{aaa:-bbb}", None),
    ("${aaa:-bbb}}", Some("bbb}")),
    ("${aaa:-bbb", None),
    ("${aaa:-bbb}", Some("bbb")),
    ("${aaa:-${bbb:-ccc}}", Some("ccc")),
    ("${aaa:-bbb ${foo}", None),
    ("${aaa:-bbb {foo}", Some("bbb {foo")),
    ("${:}", None),
    ("${:-bbb}", None),
    ("${:+bbb}", None),
    // Positional and special parameters are never set.
    ("$1", Some("")),
    ("${1:-bbb}", Some("bbb")),
    ("${9:+bbb}", Some("")),
    ("$999aaa", Some("aaa")),
    ("${999:-bbb}aaa", Some("bbbaaa")),
    ("$001aaa", Some("aaa")),
    ("$@", Some("")),
    ("$@@@", Some("@@")),
    ("${@:-bbb}aaa", Some("bbbaaa")),
    ("${*:+bbb}", Some("")),
    ("${#:-bbb}", Some("bbb")),
    ("${?}", Some("")),
    ("$-", Some("")),
    ("$$", Some("")),
    ("${!:-bbb}", Some("bbb")),
    ("$0", Some("")),
    ("${0:-bbb}", Some("bbb")),
];

#[test]
fn env_var_test() {
    let lex = Lex::new('\\');
    let env = env();
    for (input, want) in ENV_VAR_TEST {
        let got = lex.process_word(input, &env);
        match want {
            Some(w) => assert_eq!(got.as_deref().map_err(|e| e.to_string()), Ok(*w), "{input}"),
            None => assert!(got.is_err(), "{input}: {got:?}"),
        }
    }
}

#[test]
fn words_test() {
    // BuildKit's shell/wordsTest.
    let lex = Lex::new('\\');
    let env = env_from_slice(&["hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   "]);
    let cases: &[(&str, &[&str])] = &[
        ("hello", &["hello"]),
        ("hello${hi}bye", &["hellohibye"]),
        ("hello${space}bye", &["helloabc", "defbye"]),
        ("hello\"${space}\"bye", &["helloabc  defbye"]),
        ("hello \"${space}\"bye", &["hello", "abc  defbye"]),
        ("hello${leading}def", &["hello", "ab", "cdef"]),
        ("hello\"${leading}\" def", &["hello  ab c", "def"]),
        ("hello\"${leading}\"", &["hello  ab c"]),
        ("hello${leading}", &["hello", "ab", "c"]),
        ("hello${trailing}", &["helloab", "c"]),
        ("hello${trailing}d", &["helloab", "c", "d"]),
        ("hello\"${trailing}\"d", &["helloab c   d"]),
        ("hel\"lo${trailing}\"", &["helloab c   "]),
        ("hello\" there  \"", &["hello there  "]),
        ("hello there     ", &["hello", "there"]),
        ("hello\\ there", &["hello there"]),
        ("hello\\\" there", &["hello\"", "there"]),
        ("hello\"\\\\there\"", &["hello\\there"]),
        ("hello\"\\there\"", &["hello\\there"]),
        ("hello'\\\\there'", &["hello\\\\there"]),
        ("hello'\\there'", &["hello\\there"]),
        ("hello'$there'", &["hello$there"]),
        ("a \"\" b", &["a", "b"]),
    ];
    for (input, want) in cases {
        assert_eq!(lex.process_words(input, &env).unwrap(), *want, "{input}");
    }
    assert!(lex.process_words("hello\" there", &env).is_err());
    // Each nesting level keeps its own word (see the shell module's doc).
    assert_eq!(lex.process_words("ab${X:-c}d", &env).unwrap(), ["abcd"]);
}

#[test]
fn pattern_modifiers() {
    // lex_test.go TestProcessWithMatches/TestSubstitution-style cases.
    let lex = Lex::new('\\');
    let env: BTreeMap<String, String> =
        [("FOO", "/a/b/c.tar.gz"), ("BAR", "aXbXc"), ("EMPTY", ""), ("STARS", "xx**"), ("NL", "a\nb")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let cases: &[(&str, &str)] = &[
        ("${FOO#*/}", "a/b/c.tar.gz"),
        ("${FOO##*/}", "c.tar.gz"),
        ("${FOO%.*}", "/a/b/c.tar"),
        ("${FOO%%.*}", "/a/b/c"),
        ("${FOO#/a}", "/b/c.tar.gz"),
        ("${FOO%gz}", "/a/b/c.tar."),
        ("${FOO#nomatch}", "/a/b/c.tar.gz"),
        ("${FOO#?}", "a/b/c.tar.gz"),
        ("${STARS%%\\**}", "xx"),
        ("${STARS%\\*}", "xx*"),
        ("${BAR/X/-}", "a-bXc"),
        ("${BAR//X/-}", "a-b-c"),
        ("${BAR/#a/-}", "aXbXc"),
        ("${BAR//?/.}", "....."),
        ("${FOO/\\/a/x}", "x/b/c.tar.gz"),
        ("${UNSET#x}", ""),
        ("${UNSET/x/y}", ""),
        ("${EMPTY-d}", ""),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY+s}", "s"),
        ("${EMPTY:+s}", ""),
        ("${UNSET+s}", ""),
        ("${NL#*}", "a\nb"),
        ("${NL##*}", "\nb"),
    ];
    for (input, want) in cases {
        assert_eq!(lex.process_word(input, &env).map_err(|e| e.to_string()).as_deref(), Ok(*want), "{input}");
    }
    let errs: &[(&str, &str)] = &[
        ("${FOO:#x}", "failed to process \"${FOO:#x}\": unsupported modifier (:#) in substitution"),
        ("${FOO:%x}", "failed to process \"${FOO:%x}\": unsupported modifier (:%) in substitution"),
        ("${FOO:x}", "failed to process \"${FOO:x}\": unsupported modifier (:x) in substitution"),
        ("${FOO=x}", "failed to process \"${FOO=x}\": unsupported modifier (=) in substitution"),
        ("${FOO", "failed to process \"${FOO\": unsupported modifier (\u{fffd}) in substitution"),
        (
            "${FOO#\\x}",
            "failed to process \"${FOO#\\\\x}\": invalid pattern (\\x) in substitution: invalid escape '\\x'",
        ),
        ("${UNSET?}", "failed to process \"${UNSET?}\": UNSET: is not allowed to be unset"),
        ("${UNSET?custom}", "failed to process \"${UNSET?custom}\": UNSET: custom"),
        ("${EMPTY:?}", "failed to process \"${EMPTY:?}\": EMPTY: is not allowed to be empty"),
        ("${BAR//X}", "failed to process \"${BAR//X}\": syntax error: missing '/' in ${}"),
        ("${BAR/x", "failed to process \"${BAR/x\": syntax error: missing '/' in ${}"),
        ("${BAR/x/y", "failed to process \"${BAR/x/y\": syntax error: missing '}'"),
        ("${", "failed to process \"${\": syntax error: missing '}'"),
        ("${}", "failed to process \"${}\": syntax error: bad substitution"),
        ("'abc", "failed to process \"'abc\": unexpected end of statement while looking for matching single-quote"),
        ("\"abc", "failed to process \"\\\"abc\": unexpected end of statement while looking for matching double-quote"),
    ];
    for (input, want) in errs {
        assert_eq!(lex.process_word(input, &env).unwrap_err().to_string(), *want, "{input}");
    }
}

#[test]
fn modes_and_matches() {
    let mut lex = Lex::new('\\');
    lex.skip_unset_env = true;
    assert_eq!(lex.process_word("$A ${B} ${C:-d} ${E/f/g} $1", &NoEnv).unwrap(), "$A ${B} ${C:-d} ${E/f/g} $1");
    let mut lex = Lex::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    assert_eq!(lex.process_words("a 'b c' \"d\\\"e\" f\\ g", &NoEnv).unwrap(), ["a", "'b c'", "\"d\\\"e\"", "f\\ g"]);
    let mut lex = Lex::new('\\');
    lex.skip_process_quotes = true;
    assert_eq!(lex.process_word("'$X' \"y\"", &env_from_slice(&["X=1"])).unwrap(), "'1' \"y\"");
    // A backtick escape token.
    let lex = Lex::new('`');
    assert_eq!(lex.process_word("a`$b\\c \"`\"\"", &NoEnv).unwrap(), "a$b\\c \"");
    // Matched and unmatched variables.
    let r = Lex::new('\\').process_word_with_matches("$A ${B:-$C}", &env_from_slice(&["A=1", "C=3"])).unwrap();
    assert_eq!(r.result, "1 3");
    assert_eq!(r.matched.into_iter().collect::<Vec<_>>(), ["A", "C"]);
    assert_eq!(r.unmatched.into_iter().collect::<Vec<_>>(), ["B"]);
    // The last definition wins.
    assert_eq!(Lex::new('\\').process_word("$A", &env_from_slice(&["A=1", "A=2"])).unwrap(), "2");
}

#[test]
fn nesting_is_bounded() {
    let lex = Lex::new('\\');
    let deep = format!("{}x{}", "${A:-".repeat(200), "}".repeat(200));
    let e = lex.process_word(&deep, &NoEnv).unwrap_err();
    assert_eq!(e.kind(), wharf_dockerfile::ErrorKind::Limit);
    let ok = format!("{}x{}", "${A:-".repeat(100), "}".repeat(100));
    assert_eq!(lex.process_word(&ok, &NoEnv).unwrap(), "x");
    // Patterns never backtrack exponentially.
    let env = env_from_slice(&[format!("V={}", "a".repeat(5000))]);
    let pat = format!("${{V%%{}b}}", "*a".repeat(50));
    assert_eq!(lex.process_word(&pat, &env).unwrap().len(), 5000);
    // Replacing every match of a long value stays linear.
    let env = env_from_slice(&[format!("V={}", "ab".repeat(100_000))]);
    assert_eq!(lex.process_word("${V//a/}", &env).unwrap(), "b".repeat(100_000));
}
