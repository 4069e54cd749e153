//! Parser building the syntax tree from lexed items, a port of
//! `text/template/parse/parse.go` (with `node.go`'s `String` forms, which
//! appear in execution error messages).

use std::collections::HashMap;
use std::fmt;

use crate::format::go_quote;
use crate::funcs::Func;
use crate::lex::{lex, Item, Tok};
use crate::Error;

/// Maximum nesting of control structures and parenthesized pipelines.
pub(crate) const MAX_PARSE_DEPTH: usize = 50;

pub(crate) type List = Vec<Node>;

/// A node of a template body.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Text(String),
    Action { pos: usize, pipe: Pipe },
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template(Box<TemplateCall>),
    Break,
    Continue,
}

/// The parts shared by `if`, `range` and `with`.
#[derive(Clone, Debug)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) list: List,
    pub(crate) else_list: Option<List>,
}

/// `{{template "name" pipeline}}`.
#[derive(Clone, Debug)]
pub(crate) struct TemplateCall {
    pub(crate) pos: usize,
    pub(crate) name: String,
    pub(crate) pipe: Option<Pipe>,
}

/// A pipeline with optional variable declarations.
#[derive(Clone, Debug)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Command>,
}

/// A command: a function/field/value followed by arguments.
#[derive(Clone, Debug)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Arg>,
}

/// An operand of a command.
#[derive(Clone, Debug)]
pub(crate) struct Arg {
    pub(crate) pos: usize,
    pub(crate) kind: ArgKind,
}

#[derive(Clone, Debug)]
pub(crate) enum ArgKind {
    /// `.A.B` (identifiers without dots).
    Field(Vec<String>),
    /// `$x.A.B`: first element is the variable name including `$`.
    Variable(Vec<String>),
    Dot,
    Nil,
    Bool(bool),
    Number(Number),
    String {
        quoted: String,
        text: String,
    },
    Func(Func),
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B` or `func.A`.
    Chain(Box<Arg>, Vec<String>),
}

/// A numeric constant with Go's multiple interpretations.
#[derive(Clone, Debug)]
pub(crate) struct Number {
    pub(crate) text: String,
    pub(crate) int: Option<i64>,
    pub(crate) uint: Option<u64>,
    pub(crate) float: Option<f64>,
}

/// All templates of a parse: the main template has the name "".
#[derive(Clone, Debug, Default)]
pub(crate) struct Trees {
    pub(crate) trees: HashMap<String, List>,
}

// ---------------------------------------------------------------------------
// String forms (Go's Node.String), used in execution error contexts.
//
// Rendering is iterative-friendly: it recurses at most `MAX_RENDER_DEPTH`
// levels and writes "..." below that, so error messages about deeply nested
// nodes cannot exhaust the stack.

const MAX_RENDER_DEPTH: usize = 16;

fn render_list(out: &mut String, list: &[Node], depth: usize) {
    for n in list {
        n.render(out, depth);
    }
}

fn render_branch(out: &mut String, kw: &str, b: &Branch, depth: usize) {
    out.push_str("{{");
    out.push_str(kw);
    out.push(' ');
    b.pipe.render(out, depth + 1);
    out.push_str("}}");
    render_list(out, &b.list, depth + 1);
    if let Some(e) = &b.else_list {
        out.push_str("{{else}}");
        render_list(out, e, depth + 1);
    }
    out.push_str("{{end}}");
}

impl Node {
    fn render(&self, out: &mut String, depth: usize) {
        if depth > MAX_RENDER_DEPTH {
            out.push_str("...");
            return;
        }
        match self {
            Node::Text(t) => out.push_str(t),
            Node::Action { pipe, .. } => {
                out.push_str("{{");
                pipe.render(out, depth + 1);
                out.push_str("}}");
            }
            Node::If(b) => render_branch(out, "if", b, depth),
            Node::Range(b) => render_branch(out, "range", b, depth),
            Node::With(b) => render_branch(out, "with", b, depth),
            Node::Template(t) => {
                out.push_str("{{template ");
                out.push_str(&go_quote(&t.name));
                if let Some(p) = &t.pipe {
                    out.push(' ');
                    p.render(out, depth + 1);
                }
                out.push_str("}}");
            }
            Node::Break => out.push_str("{{break}}"),
            Node::Continue => out.push_str("{{continue}}"),
        }
    }
}

impl Pipe {
    fn render(&self, out: &mut String, depth: usize) {
        if depth > MAX_RENDER_DEPTH {
            out.push_str("...");
            return;
        }
        if !self.decl.is_empty() {
            out.push_str(&self.decl.join(", "));
            out.push_str(if self.is_assign { " = " } else { " := " });
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            c.render(out, depth + 1);
        }
    }
}

impl Command {
    fn render(&self, out: &mut String, depth: usize) {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if let ArgKind::Pipe(p) = &a.kind {
                out.push('(');
                p.render(out, depth + 1);
                out.push(')');
            } else {
                a.render(out, depth + 1);
            }
        }
    }
}

impl Arg {
    fn render(&self, out: &mut String, depth: usize) {
        if depth > MAX_RENDER_DEPTH {
            out.push_str("...");
            return;
        }
        match &self.kind {
            ArgKind::Field(idents) => {
                for id in idents {
                    out.push('.');
                    out.push_str(id);
                }
            }
            ArgKind::Variable(idents) => out.push_str(&idents.join(".")),
            ArgKind::Dot => out.push('.'),
            ArgKind::Nil => out.push_str("nil"),
            ArgKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            ArgKind::Number(n) => out.push_str(&n.text),
            ArgKind::String { quoted, .. } => out.push_str(quoted),
            ArgKind::Func(func) => out.push_str(func.name()),
            ArgKind::Pipe(p) => p.render(out, depth + 1),
            ArgKind::Chain(node, fields) => {
                if let ArgKind::Pipe(p) = &node.kind {
                    out.push('(');
                    p.render(out, depth + 1);
                    out.push(')');
                } else {
                    node.render(out, depth + 1);
                }
                for field in fields {
                    out.push('.');
                    out.push_str(field);
                }
            }
        }
    }
}

macro_rules! display_via_render {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = String::new();
                self.render(&mut s, 0);
                f.write_str(&s)
            }
        }
    )*};
}

display_via_render!(Node, Pipe, Command, Arg);

/// Go's `parse.IsEmptyTree`: only whitespace text.
fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty(),
        _ => false,
    })
}

// ---------------------------------------------------------------------------
// The parser.

/// What `textOrAction` produced: a node, or an `{{end}}`/`{{else}}` marker.
enum Parsed {
    Node(Node),
    End,
    Else,
}

/// The `{{end}}` or `{{else}}` that terminated an item list.
#[derive(PartialEq, Eq)]
enum Terminator {
    End,
    Else,
}

impl fmt::Display for Terminator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Terminator::End => "{{end}}",
            Terminator::Else => "{{else}}",
        })
    }
}

type PResult<T> = Result<T, Error>;

struct Parser {
    items: Vec<Item>,
    /// Index of the next item to hand out.
    idx: usize,
    /// Highest item index handed out so far (Go's `token[0]`), for lines.
    lexed: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    action_line: usize,
    trees: HashMap<String, List>,
}

/// Parses template source into its set of named templates.
pub(crate) fn parse(src: &str) -> Result<Trees, Error> {
    let mut p = Parser {
        items: lex(src),
        idx: 0,
        lexed: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        action_line: 0,
        trees: HashMap::new(),
    };
    let root = p.parse_top()?;
    p.add_tree(String::new(), root)?;
    Ok(Trees { trees: p.trees })
}

impl Parser {
    fn next(&mut self) -> Item {
        let last = self.items.len().saturating_sub(1);
        let i = self.idx.min(last);
        self.idx += 1;
        self.lexed = self.lexed.max(i);
        self.items.get(i).cloned().unwrap_or(Item { typ: Tok::Eof, pos: 0, val: String::new(), line: 1 })
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn peek(&mut self) -> Item {
        let t = self.next();
        self.backup();
        t
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl fmt::Display) -> Error {
        let line = self.items.get(self.lexed).map_or(1, |i| i.line);
        Error(format!(":{line}: {msg}"))
    }

    fn unexpected(&self, token: &Item, context: &str) -> Error {
        if token.typ == Tok::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at :{}", self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, expected: Tok, context: &str) -> PResult<Item> {
        let token = self.next_non_space();
        if token.typ != expected {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    fn enter(&mut self, what: &str) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.errorf(format!("max {what} depth exceeded")));
        }
        Ok(())
    }

    fn add_tree(&mut self, name: String, root: List) -> PResult<()> {
        match self.trees.get(&name) {
            Some(existing) if !is_empty_tree(existing) => {
                if !is_empty_tree(&root) {
                    return Err(self.errorf(format!("template: multiple definition of template {}", go_quote(&name))));
                }
            }
            _ => {
                self.trees.insert(name, root);
            }
        }
        Ok(())
    }

    /// Top level: like `item_list` but also handles `{{define}}`.
    fn parse_top(&mut self) -> PResult<List> {
        let mut root = List::new();
        while self.peek().typ != Tok::Eof {
            if self.peek().typ == Tok::LeftDelim {
                let saved = self.idx;
                self.next();
                if self.next_non_space().typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = saved;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    /// Runs `f` in a fresh variable scope, as a new template tree.
    fn in_new_tree<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = range_depth;
        r
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let token = self.next_non_space();
        if token.typ != Tok::String && token.typ != Tok::RawString {
            return Err(self.unexpected(&token, CONTEXT));
        }
        let name = unquote(&token.val).map_err(|e| self.errorf(e))?;
        self.expect(Tok::RightDelim, CONTEXT)?;
        let (root, end) = self.in_new_tree(|p| p.item_list())?;
        if end != Terminator::End {
            return Err(self.errorf(format!("unexpected {end} in {CONTEXT}")));
        }
        self.add_tree(name, root)
    }

    fn item_list(&mut self) -> PResult<(List, Terminator)> {
        let mut list = List::new();
        while self.peek_non_space().typ != Tok::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                Parsed::End => return Ok((list, Terminator::End)),
                Parsed::Else => return Ok((list, Terminator::Else)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            Tok::Text => Ok(Parsed::Node(Node::Text(token.val))),
            Tok::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        let node = match token.typ {
            Tok::Block => self.block_control()?,
            Tok::Break => self.break_control("{{break}}", Node::Break)?,
            Tok::Continue => self.break_control("{{continue}}", Node::Continue)?,
            Tok::Else => {
                self.else_control()?;
                return Ok(Parsed::Else);
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            Tok::If => Node::If(Box::new(self.parse_control("if")?)),
            Tok::Range => Node::Range(Box::new(self.parse_control("range")?)),
            Tok::Template => self.template_control()?,
            Tok::With => Node::With(Box::new(self.parse_control("with")?)),
            _ => {
                self.backup();
                let pos = self.peek().pos;
                let pipe = self.pipeline("command", Tok::RightDelim)?;
                Node::Action { pos, pipe }
            }
        };
        Ok(Parsed::Node(node))
    }

    fn break_control(&mut self, what: &str, node: Node) -> PResult<Node> {
        let token = self.next_non_space();
        if token.typ != Tok::RightDelim {
            return Err(self.unexpected(&token, what));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{what} outside {{{{range}}}}")));
        }
        Ok(node)
    }

    fn else_control(&mut self) -> PResult<()> {
        // "{{else if ..." and "{{else with ..." leave the keyword pending.
        let peek = self.peek_non_space();
        if peek.typ == Tok::If || peek.typ == Tok::With {
            return Ok(());
        }
        self.expect(Tok::RightDelim, "else")?;
        Ok(())
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        self.enter("nesting")?;
        let nvars = self.vars.len();
        let r = self.parse_control_inner(context);
        self.vars.truncate(nvars);
        self.depth -= 1;
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let is_range = context == "range";
        if is_range {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if is_range {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if next == Terminator::Else {
            if context == "if" && self.peek().typ == Tok::If {
                self.next();
                else_list = Some(vec![Node::If(Box::new(self.parse_control("if")?))]);
            } else if context == "with" && self.peek().typ == Tok::With {
                self.next();
                else_list = Some(vec![Node::With(Box::new(self.parse_control("with")?))]);
            } else {
                let (l, next) = self.item_list()?;
                if next != Terminator::End {
                    return Err(self.errorf(format!("expected end; found {next}")));
                }
                else_list = Some(l);
            }
        }
        Ok(Branch { pipe, list, else_list })
    }

    fn parse_template_name(&mut self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            Tok::String | Tok::RawString => unquote(&token.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Tok::RightDelim)?);
        }
        Ok(Node::Template(Box::new(TemplateCall { pos: token.pos, name, pipe })))
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Tok::RightDelim)?;
        self.enter("nesting")?;
        let r = self.in_new_tree(|p| p.item_list());
        self.depth -= 1;
        let (root, end) = r?;
        if end != Terminator::End {
            return Err(self.errorf(format!("unexpected {end} in {CONTEXT}")));
        }
        self.add_tree(name.clone(), root)?;
        Ok(Node::Template(Box::new(TemplateCall { pos: token.pos, name, pipe: Some(pipe) })))
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe { pos: token.pos, is_assign: false, decl: Vec::new(), cmds: Vec::new() };
        // Declarations or assignments?
        loop {
            let v = self.peek_non_space();
            if v.typ != Tok::Variable {
                break;
            }
            let saved = self.idx;
            self.next();
            let next = self.peek_non_space();
            match next.typ {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.typ == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                }
                Tok::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => self.idx = saved,
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            if token.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match token.typ {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(first) = c.args.first() {
                if matches!(
                    first.kind,
                    ArgKind::Bool(_) | ArgKind::Dot | ArgKind::Nil | ArgKind::Number(_) | ArgKind::String { .. }
                ) {
                    return Err(self.errorf(format!("non executable command in pipeline stage {}", i + 1)));
                }
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command { pos: self.peek_non_space().pos, args: Vec::new() };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                Tok::Space => continue,
                Tok::Error => return Err(self.errorf(&token.val)),
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.errorf(format!("unexpected {token} in operand"))),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != Tok::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == Tok::Field {
            let t = self.next();
            fields.push(t.val.get(1..).unwrap_or("").to_string());
        }
        let kind = match node.kind {
            ArgKind::Field(mut idents) => {
                idents.extend(fields);
                ArgKind::Field(idents)
            }
            ArgKind::Variable(mut idents) => {
                idents.extend(fields);
                ArgKind::Variable(idents)
            }
            ArgKind::Bool(_) | ArgKind::String { .. } | ArgKind::Number(_) | ArgKind::Nil | ArgKind::Dot => {
                return Err(self.errorf(format!("unexpected . after term {}", go_quote(&node.to_string()))));
            }
            kind => ArgKind::Chain(Box::new(Arg { pos: node.pos, kind }), fields),
        };
        Ok(Some(Arg { pos, kind }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        let kind = match token.typ {
            Tok::Error => return Err(self.errorf(&token.val)),
            Tok::Identifier => match Func::lookup(&token.val) {
                Some(f) => ArgKind::Func(f),
                None => return Err(self.errorf(format!("function {} not defined", go_quote(&token.val)))),
            },
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Variable => {
                if !self.vars.contains(&token.val) {
                    return Err(self.errorf(format!("undefined variable {}", go_quote(&token.val))));
                }
                ArgKind::Variable(vec![token.val])
            }
            Tok::Field => ArgKind::Field(vec![token.val.get(1..).unwrap_or("").to_string()]),
            Tok::Bool => ArgKind::Bool(token.val == "true"),
            Tok::CharConstant | Tok::Number => {
                ArgKind::Number(new_number(&token.val, token.typ).map_err(|e| self.errorf(e))?)
            }
            Tok::LeftParen => {
                self.enter("expression")?;
                let pipe = self.pipeline("parenthesized pipeline", Tok::RightParen)?;
                self.depth -= 1;
                return Ok(Some(Arg { pos: pipe.pos, kind: ArgKind::Pipe(Box::new(pipe)) }));
            }
            Tok::String | Tok::RawString => {
                let text = unquote(&token.val).map_err(|e| self.errorf(e))?;
                ArgKind::String { quoted: token.val, text }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(Arg { pos, kind }))
    }
}

// ---------------------------------------------------------------------------
// Literals: Go's strconv.Unquote / UnquoteChar and number parsing.

const SYNTAX: &str = "invalid syntax";

/// Decodes one (possibly escaped) character at the start of `s`. Returns the
/// value, whether it is a raw byte (`\x`, octal) rather than a rune, and the
/// rest of the input.
fn unquote_char(s: &str, quote: char) -> Result<(u32, bool, &str), &'static str> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(SYNTAX)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SYNTAX);
    }
    if c != '\\' {
        return Ok((c as u32, false, chars.as_str()));
    }
    let e = chars.next().ok_or(SYNTAX)?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some(7),
        'b' => Some(8),
        'f' => Some(0xC),
        'n' => Some(0xA),
        'r' => Some(0xD),
        't' => Some(9),
        'v' => Some(0xB),
        '\\' => Some(u32::from('\\')),
        '\'' | '"' => {
            if e != quote {
                return Err(SYNTAX);
            }
            Some(e as u32)
        }
        _ => None,
    };
    if let Some(v) = simple {
        return Ok((v, false, rest));
    }
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n).ok_or(SYNTAX)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(SYNTAX);
            }
            let v = u32::from_str_radix(hex, 16).map_err(|_| SYNTAX)?;
            if e == 'x' {
                return Ok((v, true, &rest[n..]));
            }
            if char::from_u32(v).is_none() {
                return Err(SYNTAX);
            }
            Ok((v, false, &rest[n..]))
        }
        '0'..='7' => {
            let oct = s.get(1..4).ok_or(SYNTAX)?;
            if !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(SYNTAX);
            }
            let v = u32::from_str_radix(oct, 8).map_err(|_| SYNTAX)?;
            if v > 255 {
                return Err(SYNTAX);
            }
            Ok((v, true, &s[4..]))
        }
        _ => Err(SYNTAX),
    }
}

/// Go's `strconv.Unquote` for "..." and `...` literals. Raw bytes from `\x`
/// and octal escapes that do not form UTF-8 are replaced by U+FFFD.
pub(crate) fn unquote(s: &str) -> Result<String, &'static str> {
    if s.len() < 2 {
        return Err(SYNTAX);
    }
    if let Some(inner) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        if inner.contains('`') {
            return Err(SYNTAX);
        }
        return Ok(inner.replace('\r', ""));
    }
    let inner = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or(SYNTAX)?;
    if inner.contains('\n') {
        return Err(SYNTAX);
    }
    let mut buf: Vec<u8> = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        let (v, is_byte, r) = unquote_char(rest, '"')?;
        if is_byte {
            buf.push(v as u8);
        } else {
            let c = char::from_u32(v).ok_or(SYNTAX)?;
            let mut tmp = [0u8; 4];
            buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
        }
        rest = r;
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Go's `underscoreOK`: underscores only between digits (or after a base
/// prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let b = match b.first() {
        Some(b'+' | b'-') => &b[1..],
        _ => b,
    };
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn parse_uint0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let (base, digits) = if b[0] == b'0' && b.len() >= 3 && b[1].eq_ignore_ascii_case(&b'b') {
        (2, &s[2..])
    } else if b[0] == b'0' && b.len() >= 3 && b[1].eq_ignore_ascii_case(&b'o') {
        (8, &s[2..])
    } else if b[0] == b'0' && b.len() >= 3 && b[1].eq_ignore_ascii_case(&b'x') {
        (16, &s[2..])
    } else if b[0] == b'0' {
        (8, &s[1..])
    } else {
        (10, s)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for c in digits.chars() {
        if c == '_' {
            underscores = true;
            continue;
        }
        let d = c.to_digit(base)?;
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    Some(n)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_int0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint0(body)?;
    if neg {
        if u > 1 << 63 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal literals (hexadecimal
/// floats are not supported). Out-of-range values fail, as in Go.
fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("0x") || body.contains(['p', 'i', 'n']) {
        return None;
    }
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let cleaned: String = s.chars().filter(|&c| c != '_').collect();
    let f: f64 = cleaned.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `parse.NewNumber`.
fn new_number(text: &str, typ: Tok) -> Result<Number, String> {
    if typ == Tok::CharConstant {
        let inner = text.get(1..).unwrap_or("");
        let (v, _, tail) = unquote_char(inner, '\'').map_err(str::to_string)?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        return Ok(Number {
            text: text.to_string(),
            int: Some(i64::from(v)),
            uint: Some(u64::from(v)),
            float: Some(f64::from(v)),
        });
    }
    let illegal = || format!("illegal number syntax: {}", go_quote(text));
    if text.ends_with('i') {
        // Imaginary and complex constants are not supported.
        return Err(illegal());
    }
    let mut n = Number { text: text.to_string(), int: None, uint: parse_uint0(text), float: None };
    if let Some(i) = parse_int0(text) {
        n.int = Some(i);
        if i == 0 {
            n.uint = Some(0);
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", go_quote(text)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(illegal());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\tb\x41\101\u00e9\U0001F600\"""#).as_deref(), Ok("a\tbAAé😀\""));
        assert_eq!(unquote("`a\\n\r`").as_deref(), Ok("a\\n"));
        assert_eq!(unquote(r#""\'""#), Err(SYNTAX));
        assert_eq!(unquote(r#""\q""#), Err(SYNTAX));
        assert_eq!(unquote(r#""\400""#), Err(SYNTAX));
    }

    #[test]
    fn numbers() {
        let n = |s: &str| new_number(s, Tok::Number);
        let x = n("0x1F").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(x.int, Some(31));
        let x = n("1_000").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(x.int, Some(1000));
        let x = n("017").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(x.int, Some(15));
        let x = n("1.5e3").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((x.float, x.int), (Some(1500.0), Some(1500)));
        let x = n("-7").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((x.int, x.uint), (Some(-7), None));
        let x = n("18446744073709551615").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((x.int, x.uint), (None, Some(u64::MAX)));
        assert!(n("99999999999999999999999").is_err());
        assert!(n("1__0").is_err());
        let c = new_number("'a'", Tok::CharConstant).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.int, Some(97));
        assert!(new_number("'ab'", Tok::CharConstant).is_err());
    }
}
