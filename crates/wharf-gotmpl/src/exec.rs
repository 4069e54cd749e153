//! Template execution, a port of `text/template/exec.go` over
//! [`Value`]s.
//!
//! Errors carry Go's context: `:LINE:COL: executing "NAME" at <NODE>: MSG`.
//! Execution is bounded: nesting depth (stack), total steps and output size
//! are limited so that hostile templates end with an error.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde_json::Value as Json;

use crate::format::{go_quote, print_action_value, sprint};
use crate::funcs::{self, CallError, Func};
use crate::parse::{Arg, ArgKind, Branch, Command, List, Node, Number, Pipe, TemplateCall};
use crate::value::{sorted_entries, Value};
use crate::Error;

/// Maximum nesting of control structures, parenthesized pipelines and
/// template invocations during execution.
pub(crate) const MAX_EXEC_DEPTH: usize = 100;
/// Maximum number of nodes walked plus range iterations.
pub(crate) const MAX_STEPS: u64 = 10_000_000;
/// Maximum size of the output.
pub(crate) const MAX_OUTPUT: usize = 64 << 20;

/// The node being executed, for error messages.
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
}

/// How a list walk ended.
#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

type EResult<T> = Result<T, Error>;

struct State<'a> {
    trees: &'a HashMap<String, List>,
    src: &'a str,
    /// Name of the template being executed ("" for the main one).
    name: &'a str,
    vars: Vec<(&'a str, Value<'a>)>,
    out: String,
    depth: usize,
    steps: u64,
    at: At<'a>,
}

/// Executes the template named "" of `trees` against `data`.
pub(crate) fn execute(src: &str, trees: &HashMap<String, List>, data: &Json) -> Result<String, Error> {
    let root = Value::from_json(data);
    let mut s = State {
        trees,
        src,
        name: "",
        vars: vec![("$", root.clone())],
        out: String::new(),
        depth: 0,
        steps: 0,
        at: At::None,
    };
    let Some(main) = trees.get("") else {
        return Err(Error("\"\" is an incomplete or empty template".into()));
    };
    s.walk_list(&root, main)?;
    Ok(s.out)
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Action { pos, .. } => *pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pipe.pos,
        Node::Template(t) => t.pos,
        Node::Text(_) | Node::Break | Node::Continue => 0,
    }
}

impl<'a> State<'a> {
    fn errorf(&self, msg: impl fmt::Display) -> Error {
        let (pos, ctx) = match self.at {
            At::None => return Error(format!("{}: {msg}", self.name)),
            At::Node(n) => (node_pos(n), n.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Arg(a) => (a.pos, a.to_string()),
        };
        let before = self.src.get(..pos).unwrap_or(self.src);
        let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
        let col = match before.rfind('\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        Error(format!(":{line}:{col}: executing {} at <{ctx}>: {msg}", go_quote(self.name)))
    }

    fn enter(&mut self) -> EResult<()> {
        self.depth += 1;
        if self.depth > MAX_EXEC_DEPTH {
            return Err(self.errorf(format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn step(&mut self) -> EResult<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.errorf(format!("template execution exceeded {MAX_STEPS} steps")));
        }
        Ok(())
    }

    fn check_output(&self) -> EResult<()> {
        if self.out.len() > MAX_OUTPUT {
            return Err(self.errorf(format!("output exceeds {MAX_OUTPUT} bytes")));
        }
        Ok(())
    }

    // -- variables ---------------------------------------------------------

    fn var_value(&self, name: &str) -> EResult<Value<'a>> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, value: Value<'a>) -> EResult<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Value<'a>) {
        if let Some(i) = self.vars.len().checked_sub(n) {
            if let Some(slot) = self.vars.get_mut(i) {
                slot.1 = value;
            }
        }
    }

    // -- walking -----------------------------------------------------------

    fn walk_list(&mut self, dot: &Value<'a>, list: &'a [Node]) -> EResult<Flow> {
        for node in list {
            let flow = self.walk(dot, node)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value<'a>, node: &'a Node) -> EResult<Flow> {
        self.at = At::Node(node);
        self.step()?;
        match node {
            Node::Text(t) => {
                self.out.push_str(t);
                self.check_output()?;
            }
            Node::Action { pipe, .. } => {
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Node(node);
                    print_action_value(&mut self.out, &val);
                    self.check_output()?;
                }
            }
            Node::If(b) => return self.walk_if_or_with(false, dot, b),
            Node::With(b) => return self.walk_if_or_with(true, dot, b),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template(t) => self.walk_template(dot, t)?,
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Value<'a>, b: &'a Branch) -> EResult<Flow> {
        self.enter()?;
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if val.truth() {
            if with {
                self.walk_list(&val, &b.list)?
            } else {
                self.walk_list(dot, &b.list)?
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        self.leave();
        Ok(flow)
    }

    /// One iteration of a range body; returns false on `{{break}}`.
    fn range_iteration(&mut self, r: &'a Branch, mark: usize, index: Value<'a>, elem: Value<'a>) -> EResult<bool> {
        self.step()?;
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                // With two variables, index comes first; with one, the element.
                let v = if decl.len() > 1 { index.clone() } else { elem.clone() };
                self.set_var(&decl[0], v)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk_list(&elem, &r.list)?;
        self.vars.truncate(mark);
        Ok(flow != Flow::Break)
    }

    fn walk_range(&mut self, dot: &Value<'a>, r: &'a Branch) -> EResult<Flow> {
        self.enter()?;
        let mark0 = self.vars.len();
        let val = self.eval_pipeline(dot, &r.pipe)?;
        let mark = self.vars.len();
        let mut ran = false;
        match &val {
            Value::Array(_) | Value::List(_) => {
                let n = val.list_len().unwrap_or(0);
                for i in 0..n {
                    ran = true;
                    let elem = val.list_get(i).unwrap_or(Value::Missing);
                    if !self.range_iteration(r, mark, Value::Int(i as i64), elem)? {
                        break;
                    }
                }
            }
            Value::Object(m) => {
                for (k, v) in sorted_entries(m) {
                    ran = true;
                    let key = Value::Str(Cow::Borrowed(k.as_str()));
                    if !self.range_iteration(r, mark, key, Value::from_json(v))? {
                        break;
                    }
                }
            }
            Value::Int(_) | Value::Uint(_) => {
                if r.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        sprint(std::slice::from_ref(&val))
                    )));
                }
                let n = match val {
                    Value::Int(i) => u64::try_from(i).unwrap_or(0),
                    Value::Uint(u) => u,
                    _ => 0,
                };
                for i in 0..n {
                    ran = true;
                    let v = i64::try_from(i).map_or(Value::Uint(i), Value::Int);
                    if !self.range_iteration(r, mark, Value::Missing, v)? {
                        break;
                    }
                }
            }
            Value::Missing | Value::Nil => {}
            other => {
                return Err(self.errorf(format!("range can't iterate over {}", sprint(std::slice::from_ref(other)))))
            }
        }
        if !ran {
            if let Some(e) = &r.else_list {
                self.walk_list(dot, e)?;
            }
        }
        self.vars.truncate(mark0);
        self.leave();
        Ok(Flow::Normal)
    }

    fn walk_template(&mut self, dot: &Value<'a>, t: &'a TemplateCall) -> EResult<()> {
        let Some(tree) = self.trees.get(&t.name) else {
            return Err(self.errorf(format!("template {} not defined", go_quote(&t.name))));
        };
        self.enter()?;
        let new_dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Missing,
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let name = std::mem::replace(&mut self.name, t.name.as_str());
        let r = self.walk_list(&new_dot, tree);
        self.vars = vars;
        self.name = name;
        self.leave();
        r.map(|_| ())
    }

    // -- evaluation --------------------------------------------------------

    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> EResult<Value<'a>> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Missing);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var, value.clone())?;
            } else {
                self.vars.push((var.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn eval_nested_pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> EResult<Value<'a>> {
        self.enter()?;
        let v = self.eval_pipeline(dot, pipe)?;
        self.leave();
        Ok(v)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Value<'a>>) -> EResult<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            let first = cmd.args.first().map(|a| a.to_string()).unwrap_or_default();
            return Err(self.errorf(format!("can't give argument to non-function {first}")));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value<'a>, cmd: &'a Command, final_: Option<Value<'a>>) -> EResult<Value<'a>> {
        let Some(first) = cmd.args.first() else {
            return Err(self.errorf("empty command"));
        };
        let has_args = cmd.args.len() > 1 || final_.is_some();
        match &first.kind {
            ArgKind::Field(idents) => {
                self.at = At::Arg(first);
                self.eval_fields(dot.clone(), idents, has_args)
            }
            ArgKind::Chain(node, fields) => {
                let base = self.eval_chain_base(dot, first, node)?;
                self.eval_fields(base, fields, has_args)
            }
            ArgKind::Func(f) => self.eval_function(dot, first, *f, &cmd.args[1..], At::Cmd(cmd), final_),
            ArgKind::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_nested_pipeline(dot, p)
            }
            ArgKind::Variable(idents) => {
                self.at = At::Arg(first);
                let value = self.var_value(&idents[0])?;
                if idents.len() == 1 {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(value);
                }
                self.eval_fields(value, &idents[1..], has_args)
            }
            kind => {
                self.at = At::Arg(first);
                self.not_a_function(cmd, &final_)?;
                match kind {
                    ArgKind::Bool(b) => Ok(Value::Bool(*b)),
                    ArgKind::Dot => Ok(dot.clone()),
                    ArgKind::Nil => Err(self.errorf("nil is not a command")),
                    ArgKind::Number(n) => self.ideal_constant(n),
                    ArgKind::String { text, .. } => Ok(Value::Str(Cow::Borrowed(text.as_str()))),
                    _ => Err(self.errorf(format!("can't evaluate command {}", go_quote(&first.to_string())))),
                }
            }
        }
    }

    /// Evaluates the base of `(pipeline).Field` and friends.
    fn eval_chain_base(&mut self, dot: &Value<'a>, chain: &'a Arg, node: &'a Arg) -> EResult<Value<'a>> {
        self.at = At::Arg(chain);
        if matches!(node.kind, ArgKind::Nil) {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let base = self.eval_arg(dot, node)?;
        self.at = At::Arg(chain);
        Ok(base)
    }

    /// Walks `.A.B.C` from `receiver`.
    fn eval_fields(&mut self, mut receiver: Value<'a>, idents: &[String], has_args: bool) -> EResult<Value<'a>> {
        let n = idents.len();
        for (i, name) in idents.iter().enumerate() {
            receiver = self.eval_field(name, has_args && i + 1 == n, receiver)?;
        }
        Ok(receiver)
    }

    fn eval_field(&self, name: &str, has_args: bool, receiver: Value<'a>) -> EResult<Value<'a>> {
        match receiver {
            Value::Missing => Ok(Value::Missing),
            Value::Object(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                // Docker's templates name Go struct fields (`APIVersion`) while the data here is
                // the JSON those structs encode to (`ApiVersion`): an exact key wins, then a
                // key equal to the name ignoring ASCII case.
                let found =
                    m.get(name).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v));
                Ok(found.map_or(Value::Missing, Value::from_json))
            }
            Value::Nil => Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}"))),
            other => Err(self.errorf(format!("can't evaluate field {name} in type {}", other.type_name()))),
        }
    }

    fn eval_arg(&mut self, dot: &Value<'a>, arg: &'a Arg) -> EResult<Value<'a>> {
        self.at = At::Arg(arg);
        match &arg.kind {
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Nil => Ok(Value::Nil),
            ArgKind::Bool(b) => Ok(Value::Bool(*b)),
            ArgKind::Number(n) => self.ideal_constant(n),
            ArgKind::String { text, .. } => Ok(Value::Str(Cow::Borrowed(text.as_str()))),
            ArgKind::Field(idents) => self.eval_fields(dot.clone(), idents, false),
            ArgKind::Variable(idents) => {
                let v = self.var_value(&idents[0])?;
                self.eval_fields(v, &idents[1..], false)
            }
            ArgKind::Pipe(p) => self.eval_nested_pipeline(dot, p),
            ArgKind::Func(f) => self.eval_function(dot, arg, *f, &[], At::Arg(arg), None),
            ArgKind::Chain(node, fields) => {
                let base = self.eval_chain_base(dot, arg, node)?;
                self.eval_fields(base, fields, false)
            }
        }
    }

    /// A number literal in a context without a type: Go's `idealConstant`.
    fn ideal_constant(&self, n: &Number) -> EResult<Value<'a>> {
        let t = n.text.as_str();
        let is_hex_int =
            t.len() > 2 && t.starts_with('0') && matches!(t.as_bytes()[1], b'x' | b'X') && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if let Some(f) = n.float {
            if !is_hex_int && !is_rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
                return Ok(Value::Float(f));
            }
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.uint.is_some() {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Value::Missing)
    }

    fn eval_function(
        &mut self,
        dot: &Value<'a>,
        ident: &'a Arg,
        f: Func,
        args: &'a [Arg],
        call_node: At<'a>,
        final_: Option<Value<'a>>,
    ) -> EResult<Value<'a>> {
        self.at = At::Arg(ident);
        let name = f.name();
        let (fixed, variadic) = f.signature();
        let num_in = args.len() + usize::from(final_.is_some());
        if variadic {
            if num_in < fixed {
                return Err(
                    self.errorf(format!("wrong number of args for {name}: want at least {fixed} got {}", args.len()))
                );
            }
        } else if num_in != fixed {
            return Err(self.errorf(format!("wrong number of args for {name}: want {fixed} got {num_in}")));
        }
        if f == Func::And || f == Func::Or {
            let want = f == Func::Or;
            let mut v = Value::Missing;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(fv) = final_ {
                v = fv;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for a in args {
            argv.push(self.eval_arg(dot, a)?);
        }
        if let Some(fv) = final_ {
            argv.push(fv);
        }
        match funcs::call(f, argv) {
            Ok(v) => Ok(v),
            Err(CallError::Call(msg)) => {
                self.at = call_node;
                Err(self.errorf(format!("error calling {name}: {msg}")))
            }
            Err(CallError::Arg(i, msg)) => {
                if let Some(a) = args.get(i) {
                    self.at = At::Arg(a);
                }
                Err(self.errorf(msg))
            }
        }
    }
}
