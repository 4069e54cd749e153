//! Coexistence with a real Docker on the same host: the one place where the daemon writes
//! outside its own table.
//!
//! dockerd (with its default `--iptables`) sets the policy of `FORWARD` in `table ip filter`
//! to `drop` and accepts only its own bridges' traffic there. In netfilter a packet dropped by
//! any base chain of a hook is dropped, whatever other tables say: with Docker running, the
//! forwarded traffic of our containers (egress, published ports from outside, the replies)
//! would die in Docker's chain although the daemon's `table inet <name>` ([`crate::Nat`])
//! accepts it. Docker's documented way for third parties is its `DOCKER-USER` chain: jumped
//! to first from `FORWARD`, and kept with its rules across dockerd restarts.
//!
//! So, when `DOCKER-USER` exists in `table ip filter` (and in `table ip6 filter`, where
//! ip6tables-enabled dockerds make one too), [`DockerUser`] inserts two rules per
//! non-internal bridge network, just before the chain's first unconditional `return` (after
//! any rule an administrator inserted, so theirs still apply first):
//!
//! ```text
//! iifname "<bridge>" accept comment "wharf t=<table> n=<network> b=<bridge> egress"
//! oifname "<bridge>" accept comment "wharf t=<table> n=<network> b=<bridge> ingress"
//! ```
//!
//! They only keep Docker's policy from dropping the traffic: what may reach a bridge
//! (replies, published ports, nothing unsolicited; `--internal`; isolation between networks)
//! is still decided by the daemon's own table, which sees every packet too. Only expressions
//! iptables-nft can read back are used (interface matches, a verdict and a comment — shown by
//! `iptables -S DOCKER-USER` as `-i <bridge> -m comment --comment "wharf …" -j ACCEPT`): a
//! native `ct` match there makes iptables-nft call the chain "incompatible", and a restarting
//! dockerd then fails to set `DOCKER-USER` up and no longer jumps to it first from `FORWARD`.
//!
//! Every rule's comment names `wharf`, the daemon's table and the network, so each daemon
//! finds exactly its own rules and deletes them by handle; no other rule of Docker's tables is
//! touched, and nothing is created when `DOCKER-USER` does not exist. The rules are installed
//! when a network is realized (also at every daemon start), checked again when a container
//! starts (so a dockerd started after the daemon is covered at the next container start), and
//! removed with the network and at daemon stop (with the daemon's table). `--iptables=false`
//! creates no [`DockerUser`] at all.
//!
//! A consequence: wharf containers' connections into a Docker bridge are not dropped by
//! Docker's policy either (Docker's own isolation only knows its own bridges).

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::link::check_ifname;
use crate::nat::{check_table, run_nft};
use crate::netns::NetNs;

/// Docker's chain for rules of its users, in `table ip filter` (and `ip6 filter`).
pub const DOCKER_USER: &str = "DOCKER-USER";

/// The table Docker's `FORWARD` lives in.
const FILTER: &str = "filter";

/// The families of Docker's filter tables: iptables, and ip6tables (Docker 27+ by default).
const FAMILIES: [&str; 2] = ["ip", "ip6"];

/// The first word of every comment of ours.
const MARK: &str = "wharf";

/// One network whose bridge Docker's policy must let through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerUserPass {
    /// The network's id (at most [`crate::MAX_ID_LEN`] of `[A-Za-z0-9_.-]`: pass a short id).
    pub network_id: String,
    /// Its bridge interface.
    pub bridge: String,
}

/// The daemon's rules in Docker's `DOCKER-USER` chains of one network namespace. Methods
/// serialize on an internal lock; each change is one atomic `nft` transaction per family.
#[derive(Debug)]
pub struct DockerUser {
    table: String,
    netns: NetNs,
    nft: PathBuf,
    lock: Mutex<()>,
}

/// What a rule of ours accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    /// Traffic from the bridge (`iifname`): the containers' egress.
    Egress,
    /// Traffic to the bridge (`oifname`): replies and published ports.
    Ingress,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Egress => "egress",
            Direction::Ingress => "ingress",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Direction::Egress => "iifname",
            Direction::Ingress => "oifname",
        }
    }
}

/// The owner a comment of ours names.
#[derive(Debug, PartialEq, Eq)]
struct Tag<'a> {
    table: &'a str,
    net: &'a str,
}

impl<'a> Tag<'a> {
    /// `wharf t=<table> n=<network> …`, or `None` for anybody else's comment.
    fn parse(comment: &'a str) -> Option<Self> {
        let mut words = comment.split(' ');
        if words.next() != Some(MARK) {
            return None;
        }
        let (mut table, mut net) = (None, None);
        for w in words {
            match w.split_once('=') {
                Some(("t", v)) => table = Some(v),
                Some(("n", v)) => net = Some(v),
                _ => {}
            }
        }
        Some(Tag { table: table?, net: net? })
    }
}

/// One rule of a listed chain.
#[derive(Debug, Clone)]
struct Rule {
    handle: u64,
    comment: Option<String>,
    expr: Value,
}

/// The comment of one of our rules.
fn comment(table: &str, pass: &DockerUserPass, dir: Direction) -> String {
    format!("{MARK} t={table} n={} b={} {}", pass.network_id, pass.bridge, dir.word())
}

/// The expressions of one of our rules.
fn expr(bridge: &str, dir: Direction) -> Value {
    json!([
        {"match": {"op": "==", "left": {"meta": {"key": dir.key()}}, "right": bridge}},
        {"accept": null}
    ])
}

/// The rules of `nft -j list chain …` output, in chain order.
fn parse_chain(listing: &Value) -> Vec<Rule> {
    let items = listing.get("nftables").and_then(Value::as_array).into_iter().flatten();
    items
        .filter_map(|item| item.get("rule"))
        .filter_map(|r| {
            Some(Rule {
                handle: r.get("handle")?.as_u64()?,
                comment: r.get("comment").and_then(Value::as_str).map(String::from),
                expr: r.get("expr").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Whether a rule is an unconditional `return` (Docker's `-j RETURN`, with its counter): the
/// end of what the chain evaluates.
fn is_final_return(rule: &Rule) -> bool {
    let Some(exprs) = rule.expr.as_array() else { return false };
    exprs.iter().any(|e| e.get("return").is_some())
        && exprs.iter().all(|e| e.get("return").is_some() || e.get("counter").is_some())
}

/// Whether a rule is ours and `which` selects its tag.
fn ours<'r>(table: &str, rule: &'r Rule, which: &impl Fn(&Tag<'_>) -> bool) -> Option<Tag<'r>> {
    let tag = Tag::parse(rule.comment.as_deref()?)?;
    (tag.table == table && which(&tag)).then_some(tag)
}

fn delete_rule(family: &str, handle: u64) -> Value {
    json!({"delete": {"rule": {"family": family, "table": FILTER, "chain": DOCKER_USER, "handle": handle}}})
}

/// The commands that delete our rules `which` selects from a listed chain.
fn deletions(family: &str, table: &str, rules: &[Rule], which: impl Fn(&Tag<'_>) -> bool) -> Vec<Value> {
    rules.iter().filter(|r| ours(table, r, &which).is_some()).map(|r| delete_rule(family, r.handle)).collect()
}

/// The commands that make a listed chain hold exactly our two rules per pass, in order,
/// before its first unconditional `return` (appended when it has none). A pass already in
/// place is left alone; one that is not (missing, partial, after the `return`, another
/// bridge) is deleted and inserted again. Nothing else is touched.
fn ensure_cmds(family: &str, table: &str, rules: &[Rule], passes: &[DockerUserPass]) -> Vec<Value> {
    let end = rules.iter().position(is_final_return);
    let mut cmds = Vec::new();
    for pass in passes {
        let want: Vec<(String, Value)> = [Direction::Egress, Direction::Ingress]
            .into_iter()
            .map(|d| (comment(table, pass, d), expr(&pass.bridge, d)))
            .collect();
        let mine: Vec<(usize, &Rule)> =
            rules.iter().enumerate().filter(|(_, r)| ours(table, r, &|t| t.net == pass.network_id).is_some()).collect();
        let in_place = mine.len() == want.len()
            && mine.iter().zip(&want).all(|((i, r), (c, e))| {
                r.comment.as_deref() == Some(c.as_str()) && r.expr == *e && end.is_none_or(|end| *i < end)
            });
        if in_place {
            continue;
        }
        cmds.extend(mine.iter().map(|(_, r)| delete_rule(family, r.handle)));
        for (c, e) in want {
            let mut rule = json!({"family": family, "table": FILTER, "chain": DOCKER_USER, "expr": e, "comment": c});
            match end {
                // `insert` with a handle places the rule just before that rule.
                Some(end) => {
                    rule["handle"] = json!(rules[end].handle);
                    cmds.push(json!({"insert": {"rule": rule}}));
                }
                None => cmds.push(json!({"add": {"rule": rule}})),
            }
        }
    }
    cmds
}

impl DockerUser {
    /// The rules of the daemon whose table is `inet <table>` (same name rules as
    /// [`crate::Nat::new`]), in `netns`. Nothing is touched until the first call.
    pub fn new(table: &str, netns: NetNs) -> Result<Self> {
        check_table(table)?;
        Ok(DockerUser { table: table.to_string(), netns, nft: PathBuf::from("nft"), lock: Mutex::new(()) })
    }

    /// Uses another `nft` binary (default: `nft` from `PATH`).
    pub fn with_nft_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.nft = path.into();
        self
    }

    /// Makes every `DOCKER-USER` chain that exists let `passes` through (idempotent: a
    /// chain already right is only listed). Returns how many chains (`ip`, `ip6`) exist.
    pub fn ensure(&self, passes: &[DockerUserPass]) -> Result<usize> {
        for p in passes {
            crate::nat::check_id(&p.network_id)?;
            check_ifname(&p.bridge)?;
            if p.bridge.contains(['*', '\\', '"']) {
                return Err(Error::InvalidArgument(format!("invalid bridge name for DOCKER-USER: {:?}", p.bridge)));
            }
        }
        let _g = self.guard();
        self.each_chain("allow wharf bridges in DOCKER-USER", |family, rules| {
            ensure_cmds(family, &self.table, rules, passes)
        })
    }

    /// Deletes our rules of one network. A missing chain or rule is not an error.
    pub fn remove(&self, network_id: &str) -> Result<()> {
        let _g = self.guard();
        self.each_chain("remove wharf rules from DOCKER-USER", |family, rules| {
            deletions(family, &self.table, rules, |t| t.net == network_id)
        })
        .map(drop)
    }

    /// Deletes our rules of every network but `keep` (stale ones of a daemon that died).
    pub fn retain(&self, keep: &[&str]) -> Result<()> {
        let _g = self.guard();
        self.each_chain("remove stale wharf rules from DOCKER-USER", |family, rules| {
            deletions(family, &self.table, rules, |t| !keep.contains(&t.net))
        })
        .map(drop)
    }

    /// Deletes every rule of ours (daemon stop).
    pub fn remove_all(&self) -> Result<()> {
        self.retain(&[])
    }

    /// The `DOCKER-USER` chain of `family` as `nft -j` lists it, or `None` when it does not
    /// exist (for diagnostics and tests).
    pub fn dump(&self, family: &str) -> Result<Option<Value>> {
        let _g = self.guard();
        self.list(family)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// For each family whose chain exists: lists it, applies the commands `f` makes from its
    /// rules. A transaction that fails (the chain changed under us: dockerd, an
    /// administrator) is tried once more from a fresh listing. Returns how many chains exist.
    fn each_chain(&self, op: &str, f: impl Fn(&str, &[Rule]) -> Vec<Value>) -> Result<usize> {
        let mut found = 0;
        for family in FAMILIES {
            for attempt in 0..2 {
                let Some(listing) = self.list(family)? else { break };
                if attempt == 0 {
                    found += 1;
                }
                let cmds = f(family, &parse_chain(&listing));
                if cmds.is_empty() {
                    break;
                }
                let doc = json!({ "nftables": cmds }).to_string();
                match run_nft(&self.nft, &self.netns, &["-j", "-f", "-"], Some(doc)) {
                    Ok(_) => {
                        tracing::info!(table = %self.table, family, "{op}");
                        break;
                    }
                    Err(Error::Nft { stderr, .. }) if attempt == 0 => {
                        tracing::debug!(family, "DOCKER-USER changed under us ({stderr}); trying again");
                    }
                    Err(Error::Nft { stderr, .. }) => {
                        return Err(Error::Nft { op: format!("{op} ({family})"), stderr })
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(found)
    }

    fn list(&self, family: &str) -> Result<Option<Value>> {
        match run_nft(&self.nft, &self.netns, &["-j", "list", "chain", family, FILTER, DOCKER_USER], None) {
            Ok(out) => serde_json::from_str(&out)
                .map(Some)
                .map_err(|e| Error::Nft { op: "list DOCKER-USER".into(), stderr: format!("unreadable JSON: {e}") }),
            Err(Error::Nft { stderr, .. }) if stderr.contains("No such file or directory") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(net: &str, bridge: &str) -> DockerUserPass {
        DockerUserPass { network_id: net.into(), bridge: bridge.into() }
    }

    /// A chain as nft 1.0.6 lists what dockerd 20.10 (iptables-nft) makes, plus `extra` rules
    /// (expr, comment) before its `return`.
    fn docker_chain(extra: &[(Value, Option<&str>)]) -> Vec<Rule> {
        let mut items = vec![
            json!({"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}),
            json!({"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER", "handle": 1}}),
        ];
        for (handle, (e, c)) in (10u64..).zip(extra) {
            let mut r = json!({"family": "ip", "table": "filter", "chain": "DOCKER-USER", "handle": handle, "expr": e});
            if let Some(c) = c {
                r["comment"] = json!(c);
            }
            items.push(json!({ "rule": r }));
        }
        items.push(json!({"rule": {"family": "ip", "table": "filter", "chain": "DOCKER-USER", "handle": 2,
            "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"return": null}]}}));
        parse_chain(&json!({ "nftables": items }))
    }

    /// The admin's `iptables -I DOCKER-USER -i eth9 -j DROP`.
    fn admin_drop() -> (Value, Option<&'static str>) {
        (
            json!([{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth9"}},
                   {"counter": {"packets": 3, "bytes": 180}}, {"drop": null}]),
            None,
        )
    }

    #[test]
    fn rules_are_inserted_before_docker_s_return_with_iptables_readable_expressions() {
        let rules = docker_chain(&[admin_drop()]);
        assert!(is_final_return(&rules[1]) && !is_final_return(&rules[0]));
        let cmds = ensure_cmds("ip", "wharf", &rules, &[pass("0123456789ab", "br-0123456789ab")]);
        assert_eq!(
            cmds,
            vec![
                json!({"insert": {"rule": {"family": "ip", "table": "filter", "chain": "DOCKER-USER", "handle": 2,
                    "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "br-0123456789ab"}}, {"accept": null}],
                    "comment": "wharf t=wharf n=0123456789ab b=br-0123456789ab egress"}}}),
                json!({"insert": {"rule": {"family": "ip", "table": "filter", "chain": "DOCKER-USER", "handle": 2,
                    "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "br-0123456789ab"}}, {"accept": null}],
                    "comment": "wharf t=wharf n=0123456789ab b=br-0123456789ab ingress"}}}),
            ]
        );
        // Only interface matches and verdicts: nothing iptables-nft cannot read back (no `ct`).
        let text = json!(cmds).to_string();
        assert!(!text.contains("\"ct\"") && !text.contains("\"delete\""), "{text}");
    }

    /// The chain after `cmds` ran, as nft would list it.
    fn applied(rules: &[Rule], cmds: &[Value]) -> Vec<Rule> {
        let mut out: Vec<Rule> = rules.to_vec();
        let mut next = out.iter().map(|r| r.handle).max().unwrap_or(0) + 1;
        for c in cmds {
            if let Some(d) = c.pointer("/delete/rule") {
                let h = d["handle"].as_u64().unwrap();
                assert!(out.iter().any(|r| r.handle == h), "deleting a handle that is not there: {h}");
                out.retain(|r| r.handle != h);
            } else {
                let (r, at) = match (c.pointer("/insert/rule"), c.pointer("/add/rule")) {
                    (Some(r), _) => {
                        let h = r["handle"].as_u64().unwrap();
                        (r, out.iter().position(|x| x.handle == h).unwrap())
                    }
                    (None, Some(r)) => (r, out.len()),
                    _ => panic!("unexpected command {c}"),
                };
                let rule =
                    Rule { handle: next, comment: r["comment"].as_str().map(String::from), expr: r["expr"].clone() };
                next += 1;
                out.insert(at, rule);
            }
        }
        out
    }

    #[test]
    fn ensuring_twice_changes_nothing_the_second_time() {
        let rules = docker_chain(&[admin_drop()]);
        let passes = [pass("n1", "br-n1"), pass("n2", "wharf0")];
        let once = applied(&rules, &ensure_cmds("ip", "wharf", &rules, &passes));
        let comments: Vec<Option<&str>> = once.iter().map(|r| r.comment.as_deref()).collect();
        assert_eq!(
            comments,
            [
                None,
                Some("wharf t=wharf n=n1 b=br-n1 egress"),
                Some("wharf t=wharf n=n1 b=br-n1 ingress"),
                Some("wharf t=wharf n=n2 b=wharf0 egress"),
                Some("wharf t=wharf n=n2 b=wharf0 ingress"),
                None,
            ]
        );
        assert!(is_final_return(once.last().unwrap()));
        assert!(ensure_cmds("ip", "wharf", &once, &passes).is_empty());
        // Another daemon's (another table's) rules are neither counted nor touched.
        let other = applied(&once, &ensure_cmds("ip", "wharf-x", &once, &[pass("n1", "br-n1")]));
        assert_eq!(other.len(), once.len() + 2);
        assert!(ensure_cmds("ip", "wharf", &other, &passes).is_empty());
        let gone = applied(&other, &deletions("ip", "wharf", &other, |_| true));
        assert_eq!(gone.len(), rules.len() + 2);
        assert!(gone.iter().filter_map(|r| r.comment.as_deref()).all(|c| c.starts_with("wharf t=wharf-x ")));
    }

    #[test]
    fn a_pass_out_of_place_is_replaced() {
        let egress = |b: &str| (expr(b, Direction::Egress), format!("wharf t=wharf n=n1 b={b} egress"));
        // A bridge renamed (the default bridge follows `--bridge`): both old rules go.
        let (e, c) = egress("old0");
        let (i, ci) = (expr("old0", Direction::Ingress), "wharf t=wharf n=n1 b=old0 ingress");
        let rules = docker_chain(&[(e, Some(&c)), (i, Some(ci))]);
        let cmds = ensure_cmds("ip", "wharf", &rules, &[pass("n1", "new0")]);
        assert_eq!(cmds[0], delete_rule("ip", 10));
        assert_eq!(cmds[1], delete_rule("ip", 11));
        let after = applied(&rules, &cmds);
        assert_eq!(after.len(), 3);
        assert_eq!(after[0].comment.as_deref(), Some("wharf t=wharf n=n1 b=new0 egress"));
        // Half of a pass (an administrator deleted one rule): the pair is made whole again.
        let (e, c) = egress("new0");
        let rules = docker_chain(&[(e, Some(&c))]);
        let after = applied(&rules, &ensure_cmds("ip", "wharf", &rules, &[pass("n1", "new0")]));
        assert_eq!(after.iter().filter(|r| r.comment.is_some()).count(), 2);
        // A rule of ours behind the `return` (never evaluated) is moved before it.
        let mut rules =
            applied(&docker_chain(&[]), &ensure_cmds("ip", "wharf", &docker_chain(&[]), &[pass("n1", "b")]));
        let ret = rules.remove(2);
        rules.insert(0, ret);
        let after = applied(&rules, &ensure_cmds("ip", "wharf", &rules, &[pass("n1", "b")]));
        assert!(is_final_return(after.last().unwrap()), "{after:?}");
        // The same comment over another expression is not ours as it should be: replaced.
        let rules = docker_chain(&[
            (expr("b", Direction::Ingress), Some("wharf t=wharf n=n1 b=b egress")),
            (expr("b", Direction::Ingress), Some("wharf t=wharf n=n1 b=b ingress")),
        ]);
        assert_eq!(ensure_cmds("ip", "wharf", &rules, &[pass("n1", "b")]).len(), 4);
    }

    #[test]
    fn without_a_return_the_rules_are_appended() {
        let rules = parse_chain(&json!({"nftables": [
            {"chain": {"family": "ip6", "table": "filter", "name": "DOCKER-USER", "handle": 1}}
        ]}));
        let cmds = ensure_cmds("ip6", "wharf", &rules, &[pass("n1", "br-n1")]);
        assert_eq!(cmds.len(), 2);
        assert!(cmds.iter().all(|c| c.pointer("/add/rule/family") == Some(&json!("ip6"))));
        assert!(cmds.iter().all(|c| c.pointer("/add/rule/handle").is_none()));
        // A conditional return is not the end of the chain.
        let cond = parse_chain(&json!({"nftables": [{"rule": {"handle": 5, "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "x"}}, {"return": null}]}}]}));
        assert!(!is_final_return(&cond[0]));
    }

    #[test]
    fn deletion_selects_our_rules_by_table_and_network_only() {
        let c = |s: &'static str| Some(s);
        let rules = docker_chain(&[
            admin_drop(),
            (expr("b1", Direction::Egress), c("wharf t=wharf n=n1 b=b1 egress")),
            (expr("b1", Direction::Ingress), c("wharf t=wharf n=n1 b=b1 ingress")),
            (expr("b2", Direction::Egress), c("wharf t=wharf n=n2 b=b2 egress")),
            (expr("b1", Direction::Egress), c("wharf t=wharf-other n=n1 b=b1 egress")),
            (expr("b1", Direction::Egress), c("wharfish t=wharf n=n1")),
            (expr("b1", Direction::Egress), c("someone else's")),
        ]);
        assert_eq!(
            deletions("ip", "wharf", &rules, |t| t.net == "n1"),
            vec![delete_rule("ip", 11), delete_rule("ip", 12)]
        );
        let keep = ["n1"];
        assert_eq!(deletions("ip", "wharf", &rules, |t| !keep.contains(&t.net)), vec![delete_rule("ip", 13)]);
        assert_eq!(deletions("ip", "wharf", &rules, |_| true).len(), 3);
        assert_eq!(deletions("ip", "nosuch", &rules, |_| true), Vec::<Value>::new());
    }

    #[test]
    fn tags_and_comment_lengths() {
        assert_eq!(Tag::parse("wharf t=wharf n=abc b=br-abc egress"), Some(Tag { table: "wharf", net: "abc" }));
        assert_eq!(Tag::parse("wharf n=abc"), None);
        assert_eq!(Tag::parse("n=abc b=br-abc"), None);
        assert_eq!(Tag::parse(""), None);
        // nft keeps at most 128 bytes of a comment: the longest names still fit.
        let longest = pass(&"n".repeat(crate::MAX_ID_LEN), &"b".repeat(15));
        assert!(comment(&"t".repeat(32), &longest, Direction::Ingress).len() <= 128);
    }

    #[test]
    fn bad_names_are_refused_before_nft_runs() {
        let du = DockerUser::new("wharf", NetNs::Current).unwrap().with_nft_binary("/nonexistent/nft");
        for bad in [pass("n 1", "b"), pass("n1", "br*"), pass("n1", "a b"), pass("n1", "")] {
            assert!(matches!(du.ensure(std::slice::from_ref(&bad)), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
        assert!(DockerUser::new("a b", NetNs::Current).is_err());
        // A missing nft is named, as for the daemon's own table.
        assert!(matches!(du.ensure(&[pass("n1", "br-n1")]), Err(Error::NftMissing(_))));
    }
}
