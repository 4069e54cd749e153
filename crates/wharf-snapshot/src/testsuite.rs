//! The conformance suite every [`Snapshotter`] must pass (containerd's
//! `core/snapshots/testsuite` is the model): named checks, each run in a fresh temporary
//! directory with real mounts.
//!
//! Use [`snapshotter_suite!`](crate::snapshotter_suite) in a test file to get one `#[test]` per
//! check:
//!
//! ```ignore
//! wharf_snapshot::snapshotter_suite!(|root| Ok(Box::new(wharf_snapshot::VfsSnapshotter::open(root)?)));
//! ```
//!
//! The checks need root (they mount). Without it they are skipped with a message, unless
//! `WHARF_IT=1`, which makes them fail. Temporary directories are made under
//! `$WHARF_SNAPSHOT_TEST_DIR` (default: the system temp dir). Every mount a check makes is held
//! by a [`MountGuard`] and undone even when the check fails; after each check, any mount left
//! under its directory is detached and reported as a failure.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wharf_types::{Classify, ErrorKind, Mount};

use crate::mount::{mount_all, MountGuard};
use crate::{Kind, Labels, Snapshotter, Whiteouts};

/// What a check returns; failures are errors or panics.
pub type CheckResult = Result<(), Box<dyn StdError + Send + Sync>>;

/// Opens a snapshotter rooted at the given directory (which may not exist yet).
pub type Opener = dyn Fn(&Path) -> crate::Result<Box<dyn Snapshotter>>;

type CheckFn = for<'a, 'b> fn(&'a Ctx<'b>) -> CheckResult;

/// One named conformance check.
pub struct Check {
    /// The check's name (also its `#[test]` name).
    pub name: &'static str,
    /// The check.
    pub run: for<'a, 'b> fn(&'a Ctx<'b>) -> CheckResult,
}

/// Layers stacked by the many-layer checks (docker's limit for overlay2 is 128).
pub const MANY_LAYERS: usize = 128;

/// What a check gets: a private temporary directory and a way to open snapshotters in it.
pub struct Ctx<'a> {
    dir: PathBuf,
    opener: &'a Opener,
    counter: AtomicUsize,
}

impl Ctx<'_> {
    /// The check's private directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root directory for a snapshotter called `name`.
    pub fn root(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Opens (or reopens) the snapshotter rooted at `root(name)`.
    pub fn open(&self, name: &str) -> crate::Result<Box<dyn Snapshotter>> {
        (self.opener)(&self.root(name))
    }

    /// Opens a snapshotter at an arbitrary root.
    pub fn open_at(&self, root: &Path) -> crate::Result<Box<dyn Snapshotter>> {
        (self.opener)(root)
    }

    /// Mounts `mounts` on a fresh directory; unmounted when the guard drops.
    pub fn mount(&self, mounts: &[Mount]) -> crate::Result<MountGuard> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let target = self.dir.join(format!("mnt{n}"));
        fs::create_dir_all(&target).map_err(|e| crate::Error::io("create dir", &target, e))?;
        mount_all(mounts, &target)
    }
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+).into());
        }
    };
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// Every check, in order.
        pub fn checks() -> &'static [Check] {
            static CHECKS: &[Check] = &[$(Check { name: stringify!($name), run: $name as CheckFn }),*];
            CHECKS
        }
    };
}

checks!(
    basic,
    stat_active,
    stat_committed,
    unknown_keys_not_found,
    invalid_keys,
    existing_key_conflicts,
    parent_must_be_committed,
    commit_requires_active,
    views_are_read_only,
    actives_are_copy_on_write,
    files_appear_in_child_after_commit,
    remove_with_children_refused,
    remove_active_frees_dirs,
    list_and_walk,
    usage,
    labels,
    independent_snapshotters,
    reopen_keeps_state,
    crash_leftovers_cleaned,
    metadata_preserved,
    many_layers,
    many_layers_long_root,
    concurrent_use,
    rebase_where_supported,
);

/// Runs the check `name` on snapshotters made by `opener`, if root and `supported(base)`.
/// Panics on failure (for `#[test]`).
pub fn run(name: &str, opener: &Opener, supported: &dyn Fn(&Path) -> bool) {
    let check = checks().iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check named {name}"));
    if !rustix::process::geteuid().is_root() {
        assert!(!strict(), "{name}: needs root and WHARF_IT=1 forbids skipping");
        eprintln!("skipping {name}: needs root");
        return;
    }
    let base = std::env::var_os("WHARF_SNAPSHOT_TEST_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    fs::create_dir_all(&base).expect("create test base dir");
    if !supported(&base) {
        eprintln!("skipping {name}: the driver is not supported under {}", base.display());
        return;
    }
    let tmp = tempfile::Builder::new().prefix("wharf-snap-").tempdir_in(&base).expect("create temp dir");
    let ctx = Ctx { dir: tmp.path().to_path_buf(), opener, counter: AtomicUsize::new(0) };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (check.run)(&ctx)));
    let leaked = detach_mounts_under(tmp.path());
    match outcome {
        Ok(Ok(())) => assert!(leaked.is_empty(), "{name}: left mounts behind: {leaked:?}"),
        Ok(Err(e)) => panic!("{name}: {e}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Fails unless `listed` names every check (used by [`snapshotter_suite!`](crate::snapshotter_suite)).
pub fn assert_covers(listed: &[&str]) {
    let all: Vec<&str> = checks().iter().map(|c| c.name).collect();
    assert_eq!(listed, all.as_slice(), "snapshotter_suite! and checks() disagree");
}

fn strict() -> bool {
    std::env::var("WHARF_IT").is_ok_and(|v| v == "1")
}

/// Mount points at or under `dir` (from `/proc/self/mountinfo`), deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    out
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn detach_mounts_under(dir: &Path) -> Vec<PathBuf> {
    let leaked = mounts_under(dir);
    for m in &leaked {
        rustix::mount::unmount(m, rustix::mount::UnmountFlags::DETACH).ok();
    }
    leaked
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn lbl(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn kind_of<T>(r: crate::Result<T>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

fn write(path: &Path, content: &str) -> io::Result<()> {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p)?;
    }
    fs::write(path, content)
}

fn read(path: &Path) -> io::Result<String> {
    fs::read_to_string(path)
}

/// Makes a committed snapshot `name` on `parent` whose layer adds `files`, written through
/// `apply_dir` as the image code does.
fn layer(s: &dyn Snapshotter, name: &str, parent: Option<&str>, files: &[(&str, &str)]) -> CheckResult {
    let key = format!("extract-{name}");
    s.prepare(&key, parent, Labels::new())?;
    let dir = s.apply_dir(&key)?;
    for (path, content) in files {
        write(&dir.join(path), content)?;
    }
    s.commit(name, &key, Labels::new())?;
    Ok(())
}

fn is_read_only_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::ROFS.raw_os_error())
}

fn entries(dir: &Path) -> io::Result<Vec<String>> {
    let mut v: Vec<String> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    v.sort();
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// containerd's basic check: prepare → write through the mount → commit → prepare a child →
/// change and delete through its mount → commit → view: the view shows the stack.
pub fn basic(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    let m = s.prepare("prep-1", None, Labels::new())?;
    {
        let g = ctx.mount(&m)?;
        write(&g.target().join("foo"), "foo 1")?;
        write(&g.target().join("a/b"), "b 1")?;
        write(&g.target().join("gone"), "soon")?;
        g.unmount()?;
    }
    s.commit("c1", "prep-1", Labels::new())?;
    let m = s.prepare("prep-2", Some("c1"), Labels::new())?;
    {
        let g = ctx.mount(&m)?;
        let t = g.target();
        ensure!(read(&t.join("foo"))? == "foo 1", "child does not see its parent's file");
        write(&t.join("foo"), "foo 2")?;
        write(&t.join("a/c"), "c 2")?;
        fs::remove_file(t.join("gone"))?;
        g.unmount()?;
    }
    s.commit("c2", "prep-2", Labels::new())?;
    let m = s.view("view-1", Some("c2"), Labels::new())?;
    let g = ctx.mount(&m)?;
    let t = g.target();
    ensure!(read(&t.join("foo"))? == "foo 2", "view shows the old foo");
    ensure!(read(&t.join("a/b"))? == "b 1" && read(&t.join("a/c"))? == "c 2", "view lacks a/b or a/c");
    ensure!(!t.join("gone").exists(), "a file deleted in the child is still visible");
    ensure!(entries(t)? == ["a", "foo"], "unexpected entries {:?}", entries(t)?);
    // The first layer is untouched.
    let m1 = s.view("view-0", Some("c1"), Labels::new())?;
    let g1 = ctx.mount(&m1)?;
    ensure!(read(&g1.target().join("foo"))? == "foo 1", "committed parent changed");
    ensure!(g1.target().join("gone").exists(), "committed parent lost a file");
    Ok(())
}

/// An active snapshot's stat: kind, parent, labels, times.
pub fn stat_active(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "base", None, &[("x", "1")])?;
    s.prepare("act", Some("base"), lbl(&[("l", "v")]))?;
    let info = s.stat("act")?;
    ensure!(info.name == "act" && info.kind == Kind::Active, "{info:?}");
    ensure!(info.parent.as_deref() == Some("base"), "parent {:?}", info.parent);
    ensure!(info.labels == lbl(&[("l", "v")]), "labels {:?}", info.labels);
    ensure!(info.created > 0 && info.updated >= info.created, "times {info:?}");
    s.view("v", None, Labels::new())?;
    let v = s.stat("v")?;
    ensure!(v.kind == Kind::View && v.parent.is_none(), "{v:?}");
    Ok(())
}

/// A committed snapshot's stat: kind, parent, name.
pub fn stat_committed(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "l1", None, &[("a", "1")])?;
    layer(s.as_ref(), "l2", Some("l1"), &[("b", "2")])?;
    let i1 = s.stat("l1")?;
    let i2 = s.stat("l2")?;
    ensure!(i1.kind == Kind::Committed && i1.parent.is_none(), "{i1:?}");
    ensure!(i2.kind == Kind::Committed && i2.parent.as_deref() == Some("l1"), "{i2:?}");
    ensure!(kind_of(s.stat("extract-l2")) == Some(ErrorKind::NotFound), "the active key survived its commit");
    Ok(())
}

/// Every operation on an unknown key is NotFound.
pub fn unknown_keys_not_found(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    let nf = Some(ErrorKind::NotFound);
    ensure!(kind_of(s.stat("nope")) == nf, "stat");
    ensure!(kind_of(s.mounts("nope")) == nf, "mounts");
    ensure!(kind_of(s.commit("x", "nope", Labels::new())) == nf, "commit");
    ensure!(kind_of(s.remove("nope")) == nf, "remove");
    ensure!(kind_of(s.usage("nope")) == nf, "usage");
    ensure!(kind_of(s.upper_dir("nope")) == nf, "upper_dir");
    ensure!(kind_of(s.prepare("k", Some("nope"), Labels::new())) == nf, "prepare on an unknown parent");
    ensure!(kind_of(s.stat("k")) == nf, "a failed prepare left a snapshot");
    Ok(())
}

/// Empty keys and names are InvalidArgument.
pub fn invalid_keys(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    let inv = Some(ErrorKind::InvalidArgument);
    ensure!(kind_of(s.prepare("", None, Labels::new())) == inv, "empty key");
    ensure!(kind_of(s.view("a\0b", None, Labels::new())) == inv, "NUL in key");
    s.prepare("k", None, Labels::new())?;
    ensure!(kind_of(s.commit("", "k", Labels::new())) == inv, "empty name");
    ensure!(s.stat("k")?.kind == Kind::Active, "a refused commit changed the snapshot");
    Ok(())
}

/// Keys and names share one namespace; reusing one is Conflict.
pub fn existing_key_conflicts(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "base", None, &[])?;
    s.prepare("k", None, Labels::new())?;
    let conflict = Some(ErrorKind::Conflict);
    ensure!(kind_of(s.prepare("k", None, Labels::new())) == conflict, "prepare over an active key");
    ensure!(kind_of(s.view("k", Some("base"), Labels::new())) == conflict, "view over an active key");
    ensure!(kind_of(s.prepare("base", None, Labels::new())) == conflict, "prepare over a committed name");
    ensure!(kind_of(s.commit("base", "k", Labels::new())) == conflict, "commit onto an existing name");
    ensure!(s.stat("k")?.kind == Kind::Active, "a refused commit consumed the key");
    Ok(())
}

/// Only committed snapshots can be parents (InvalidArgument otherwise).
pub fn parent_must_be_committed(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    s.prepare("act", None, Labels::new())?;
    s.view("v", None, Labels::new())?;
    let inv = Some(ErrorKind::InvalidArgument);
    ensure!(kind_of(s.prepare("c", Some("act"), Labels::new())) == inv, "prepare on an active parent");
    ensure!(kind_of(s.view("c", Some("v"), Labels::new())) == inv, "view on a view");
    ensure!(s.list()?.len() == 2, "refused prepares left snapshots");
    Ok(())
}

/// Views and committed snapshots cannot be committed; committed ones have no mounts.
pub fn commit_requires_active(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "base", None, &[])?;
    s.view("v", Some("base"), Labels::new())?;
    let conflict = Some(ErrorKind::Conflict);
    ensure!(kind_of(s.commit("x", "v", Labels::new())) == conflict, "committing a view");
    ensure!(kind_of(s.commit("x", "base", Labels::new())) == conflict, "committing a committed snapshot");
    ensure!(kind_of(s.mounts("base")) == conflict, "mounts of a committed snapshot");
    ensure!(kind_of(s.apply_dir("v")) == conflict, "apply_dir of a view");
    ensure!(s.mounts("v")? == s.mounts("v")?, "mounts are not stable");
    Ok(())
}

/// Views of zero, one and several layers mount read-only with the right content.
pub fn views_are_read_only(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "l1", None, &[("one", "1")])?;
    layer(s.as_ref(), "l2", Some("l1"), &[("two", "2")])?;
    layer(s.as_ref(), "l3", Some("l2"), &[("three", "3")])?;
    for (key, parent, expect) in [
        ("v0", None, vec![]),
        ("v1", Some("l1"), vec!["one"]),
        ("v2", Some("l2"), vec!["one", "two"]),
        ("v3", Some("l3"), vec!["one", "three", "two"]),
    ] {
        let m = s.view(key, parent, Labels::new())?;
        ensure!(s.mounts(key)? == m, "{key}: mounts differ from view's");
        let g = ctx.mount(&m)?;
        ensure!(entries(g.target())? == expect, "{key}: entries {:?}", entries(g.target())?);
        match fs::write(g.target().join("new"), "x") {
            Err(e) if is_read_only_error(&e) => {}
            other => return Err(format!("{key}: write into a view: {other:?}").into()),
        }
    }
    Ok(())
}

/// Two active snapshots on one parent do not see each other's writes, and neither changes the
/// parent.
pub fn actives_are_copy_on_write(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "base", None, &[("shared", "orig")])?;
    let ga = ctx.mount(&s.prepare("a", Some("base"), Labels::new())?)?;
    let gb = ctx.mount(&s.prepare("b", Some("base"), Labels::new())?)?;
    write(&ga.target().join("shared"), "changed by a")?;
    write(&ga.target().join("only-a"), "a")?;
    fs::remove_file(gb.target().join("shared"))?;
    ensure!(read(&gb.target().join("only-a")).is_err(), "b sees a's new file");
    ensure!(read(&ga.target().join("shared"))? == "changed by a", "a lost its change");
    let gv = ctx.mount(&s.view("v", Some("base"), Labels::new())?)?;
    ensure!(read(&gv.target().join("shared"))? == "orig", "the parent changed");
    ensure!(fs::read(s.upper_dir("a")?.join("only-a"))? == b"a", "a's upper dir lacks its write");
    Ok(())
}

/// Files written into an active snapshot (its apply dir) appear in a child after commit.
pub fn files_appear_in_child_after_commit(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    s.prepare("k", None, Labels::new())?;
    let dir = s.apply_dir("k")?;
    write(&dir.join("etc/hostname"), "layer")?;
    s.commit("l", "k", Labels::new())?;
    s.prepare("child", Some("l"), Labels::new())?;
    let g = ctx.mount(&s.mounts("child")?)?;
    ensure!(read(&g.target().join("etc/hostname"))? == "layer", "committed content missing in the child");
    Ok(())
}

/// `rebase`: on overlay-style drivers an active snapshot made without a parent, then moved
/// onto one, shows the parent's files and its own; the move survives a reopen. Drivers that
/// copy the parent refuse it and leave the snapshot as it was.
pub fn rebase_where_supported(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(&*s, "base", None, &[("etc/base", "base")])?;
    s.prepare("k", None, Labels::new())?;
    write(&s.apply_dir("k")?.join("etc/own"), "own")?;
    if s.whiteouts() != Whiteouts::Overlay {
        ensure!(s.rebase("k", Some("base")).is_err(), "a copying driver accepted rebase");
        ensure!(s.stat("k")?.parent.is_none(), "a refused rebase changed the parent");
        return Ok(());
    }
    ensure!(kind_of(s.rebase("k", Some("nosuch"))) == Some(ErrorKind::NotFound), "rebase onto a missing parent");
    s.rebase("k", Some("base"))?;
    s.commit("top", "k", Labels::new())?;
    ensure!(kind_of(s.rebase("top", None)).is_some(), "a committed snapshot was rebased");
    drop(s);
    let s = ctx.open("s")?;
    ensure!(s.stat("top")?.parent.as_deref() == Some("base"), "the new parent did not survive a reopen");
    s.view("v", Some("top"), Labels::new())?;
    let g = ctx.mount(&s.mounts("v")?)?;
    ensure!(read(&g.target().join("etc/base"))? == "base", "the new parent's file is missing");
    ensure!(read(&g.target().join("etc/own"))? == "own", "the rebased layer's own file is missing");
    Ok(())
}

/// A snapshot with children cannot be removed (Conflict); bottom-up removal works.
pub fn remove_with_children_refused(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "l1", None, &[("a", "1")])?;
    layer(s.as_ref(), "l2", Some("l1"), &[])?;
    s.prepare("act", Some("l2"), Labels::new())?;
    let conflict = Some(ErrorKind::Conflict);
    ensure!(kind_of(s.remove("l1")) == conflict, "removed a grandparent");
    ensure!(kind_of(s.remove("l2")) == conflict, "removed a parent of an active snapshot");
    ensure!(s.stat("l1").is_ok() && s.stat("l2").is_ok(), "a refused removal removed something");
    s.remove("act")?;
    s.remove("l2")?;
    s.remove("l1")?;
    ensure!(s.list()?.is_empty(), "snapshots remain: {:?}", s.list()?);
    Ok(())
}

/// Removing an active snapshot frees its directories (the container's writable layer is gone).
pub fn remove_active_frees_dirs(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "base", None, &[("a", "1")])?;
    let root = ctx.root("s");
    let before = tree_names(&root)?;
    let m = s.prepare("ctr", Some("base"), Labels::new())?;
    {
        let g = ctx.mount(&m)?;
        write(&g.target().join("data/file"), &"x".repeat(100_000))?;
        g.unmount()?;
    }
    let upper = s.upper_dir("ctr")?;
    ensure!(upper.exists(), "no upper dir");
    s.remove("ctr")?;
    ensure!(!upper.exists(), "the upper dir survived removal");
    ensure!(kind_of(s.stat("ctr")) == Some(ErrorKind::NotFound), "stat after remove");
    let after = tree_names(&root)?;
    ensure!(before == after, "files left behind: before {before:?}, after {after:?}");
    Ok(())
}

/// Paths under `root`, two levels deep below it (snapshots/<id>, l/<link>).
fn tree_names(root: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for top in entries(root)? {
        let p = root.join(&top);
        if p.is_dir() && !p.is_symlink() {
            for e in entries(&p)? {
                out.push(format!("{top}/{e}"));
            }
        } else {
            out.push(top);
        }
    }
    Ok(out)
}

/// `list` and `walk` report every snapshot, sorted, with kinds and parents.
pub fn list_and_walk(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    layer(s.as_ref(), "c", None, &[])?;
    s.prepare("b-active", Some("c"), Labels::new())?;
    s.view("a-view", Some("c"), Labels::new())?;
    let list = s.list()?;
    let got: Vec<(&str, Kind, Option<&str>)> =
        list.iter().map(|i| (i.name.as_str(), i.kind, i.parent.as_deref())).collect();
    ensure!(
        got == [("a-view", Kind::View, Some("c")), ("b-active", Kind::Active, Some("c")), ("c", Kind::Committed, None)],
        "list: {got:?}"
    );
    let mut walked = Vec::new();
    s.walk(&mut |i| walked.push(i.clone()))?;
    ensure!(walked == list, "walk differs from list");
    for i in &list {
        ensure!(s.stat(&i.name)? == *i, "stat differs from list for {}", i.name);
    }
    Ok(())
}

/// `usage` grows with what is written, is recorded at commit, and counts inodes.
pub fn usage(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    s.prepare("k", None, Labels::new())?;
    let empty = s.usage("k")?;
    ensure!(empty.inodes >= 1, "an empty snapshot has no inodes: {empty:?}");
    let dir = s.apply_dir("k")?;
    fs::write(dir.join("big"), vec![7u8; 1 << 20])?;
    for i in 0..10 {
        write(&dir.join(format!("d/f{i}")), "x")?;
    }
    let full = s.usage("k")?;
    ensure!(full.size >= empty.size + (1 << 20), "1 MiB written, usage {empty:?} → {full:?}");
    ensure!(full.inodes >= empty.inodes + 12, "12 inodes made, usage {empty:?} → {full:?}");
    s.commit("c", "k", Labels::new())?;
    ensure!(s.usage("c")? == full, "usage changed at commit: {full:?} → {:?}", s.usage("c")?);
    s.prepare("child", Some("c"), Labels::new())?;
    let child = s.usage("child")?;
    fs::write(s.apply_dir("child")?.join("more"), vec![1u8; 256 << 10])?;
    ensure!(s.usage("child")?.size >= child.size + (256 << 10), "child usage did not grow");
    ensure!(s.usage("c")? == full, "the parent's usage changed");
    Ok(())
}

/// Labels are kept from prepare and replaced at commit.
pub fn labels(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    s.prepare("k", None, lbl(&[("a", "1"), ("b", "2")]))?;
    ensure!(s.stat("k")?.labels == lbl(&[("a", "1"), ("b", "2")]), "prepare labels");
    s.commit("c", "k", lbl(&[("containerd.io/snapshot/layer", "sha256:x")]))?;
    let info = s.stat("c")?;
    ensure!(info.labels == lbl(&[("containerd.io/snapshot/layer", "sha256:x")]), "commit labels {:?}", info.labels);
    ensure!(info.updated >= info.created, "updated before created");
    Ok(())
}

/// Two snapshotters on different roots share nothing.
pub fn independent_snapshotters(ctx: &Ctx<'_>) -> CheckResult {
    let a = ctx.open("a")?;
    let b = ctx.open("b")?;
    layer(a.as_ref(), "same", None, &[("who", "a")])?;
    ensure!(kind_of(b.stat("same")) == Some(ErrorKind::NotFound), "b sees a's snapshot");
    layer(b.as_ref(), "same", None, &[("who", "b")])?;
    let ga = ctx.mount(&a.view("v", Some("same"), Labels::new())?)?;
    let gb = ctx.mount(&b.view("v", Some("same"), Labels::new())?)?;
    ensure!(read(&ga.target().join("who"))? == "a" && read(&gb.target().join("who"))? == "b", "content crossed");
    drop((ga, gb));
    a.remove("v")?;
    a.remove("same")?;
    ensure!(b.stat("same").is_ok() && b.stat("v").is_ok(), "removal in a affected b");
    Ok(())
}

/// Dropping and reopening keeps committed and active snapshots, their content and their ids.
pub fn reopen_keeps_state(ctx: &Ctx<'_>) -> CheckResult {
    let before = {
        let s = ctx.open("s")?;
        layer(s.as_ref(), "l1", None, &[("a", "1")])?;
        layer(s.as_ref(), "l2", Some("l1"), &[("b", "2")])?;
        s.prepare("ctr", Some("l2"), lbl(&[("x", "y")]))?;
        write(&s.apply_dir("ctr")?.join("c"), "3")?;
        s.list()?
    };
    let s = ctx.open("s")?;
    ensure!(s.list()? == before, "list changed across reopen: {before:?} → {:?}", s.list()?);
    {
        let g = ctx.mount(&s.mounts("ctr")?)?;
        ensure!(entries(g.target())? == ["a", "b", "c"], "content after reopen: {:?}", entries(g.target())?);
    }
    s.commit("l3", "ctr", Labels::new())?;
    // New snapshots do not collide with the reopened ones.
    s.prepare("new", Some("l3"), Labels::new())?;
    ensure!(s.upper_dir("new")? != s.upper_dir("l3")?, "a new snapshot reused a directory");
    let g = ctx.mount(&s.mounts("new")?)?;
    ensure!(entries(g.target())? == ["a", "b", "c"], "child of a reopened snapshot");
    Ok(())
}

/// Directories left by a crash (no metadata), stray files and temp files are removed at open;
/// live snapshots are untouched.
pub fn crash_leftovers_cleaned(ctx: &Ctx<'_>) -> CheckResult {
    let root = ctx.root("s");
    let live_upper = {
        let s = ctx.open("s")?;
        layer(s.as_ref(), "l1", None, &[("a", "1")])?;
        s.prepare("ctr", Some("l1"), Labels::new())?;
        s.upper_dir("ctr")?
    };
    let snapshots = root.join("snapshots");
    // A prepare interrupted before its metadata was written.
    write(&snapshots.join("999999/fs/partial"), "x")?;
    fs::create_dir_all(snapshots.join("999999/work"))?;
    // Something that is not a snapshot at all, and a half-written metadata file.
    write(&snapshots.join("junk"), "x")?;
    let live_dir = live_upper.parent().ok_or("upper dir has no parent")?;
    write(&live_dir.join("meta.json.tmp"), "{")?;
    // A dangling link (drivers with a link dir).
    let links = root.join("l");
    if links.is_dir() {
        std::os::unix::fs::symlink("../snapshots/999999/fs", links.join("zzzz"))?;
    }
    let s = ctx.open("s")?;
    ensure!(!snapshots.join("999999").exists(), "a crash leftover survived reopen");
    ensure!(!snapshots.join("junk").exists(), "a stray file survived reopen");
    ensure!(!live_dir.join("meta.json.tmp").exists(), "a temp file survived reopen");
    ensure!(fs::symlink_metadata(links.join("zzzz")).is_err(), "a dangling link survived reopen");
    ensure!(s.list()?.len() == 2 && live_upper.exists(), "live snapshots were touched");
    let g = ctx.mount(&s.mounts("ctr")?)?;
    ensure!(read(&g.target().join("a"))? == "1", "content lost");
    drop(g);
    s.cleanup()?;
    ensure!(s.list()?.len() == 2 && live_upper.exists(), "cleanup touched live snapshots");
    Ok(())
}

/// Ownership, modes, times, xattrs, symlinks, hard links, FIFOs and devices of a layer are
/// seen unchanged in a child's mount.
pub fn metadata_preserved(ctx: &Ctx<'_>) -> CheckResult {
    use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, CWD};
    let s = ctx.open("s")?;
    s.prepare("k", None, Labels::new())?;
    let d = s.apply_dir("k")?;
    write(&d.join("bin/su"), "suid")?;
    fs::set_permissions(d.join("bin/su"), fs::Permissions::from_mode(0o4755))?;
    fs::create_dir(d.join("secret"))?;
    fs::set_permissions(d.join("secret"), fs::Permissions::from_mode(0o700))?;
    rustix::fs::chownat(
        CWD,
        d.join("secret"),
        Some(rustix::fs::Uid::from_raw(1000)),
        Some(rustix::fs::Gid::from_raw(1001)),
        AtFlags::empty(),
    )?;
    fs::hard_link(d.join("bin/su"), d.join("bin/su-link"))?;
    std::os::unix::fs::symlink("../bin/su", d.join("secret/link"))?;
    rustix::fs::chownat(
        CWD,
        d.join("secret/link"),
        Some(rustix::fs::Uid::from_raw(7)),
        Some(rustix::fs::Gid::from_raw(8)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    rustix::fs::mknodat(CWD, d.join("fifo"), FileType::Fifo, Mode::from_raw_mode(0o640), 0)?;
    rustix::fs::mknodat(
        CWD,
        d.join("null"),
        FileType::CharacterDevice,
        Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 3),
    )?;
    let xattr_ok =
        rustix::fs::lsetxattr(d.join("bin/su"), "user.wharf", b"yes", rustix::fs::XattrFlags::empty()).is_ok();
    let t = Timestamps {
        last_access: Timespec { tv_sec: 1_500_000_000, tv_nsec: 0 },
        last_modification: Timespec { tv_sec: 1_600_000_000, tv_nsec: 123 },
    };
    rustix::fs::utimensat(CWD, d.join("bin/su"), &t, AtFlags::empty())?;
    rustix::fs::utimensat(CWD, d.join("secret/link"), &t, AtFlags::SYMLINK_NOFOLLOW)?;
    rustix::fs::utimensat(CWD, d.join("secret"), &t, AtFlags::empty())?;
    s.commit("l", "k", Labels::new())?;
    s.prepare("child", Some("l"), Labels::new())?;
    let g = ctx.mount(&s.mounts("child")?)?;
    let m = g.target();
    let st = |p: &str| fs::symlink_metadata(m.join(p));
    let su = st("bin/su")?;
    ensure!(su.mode() & 0o7777 == 0o4755, "bin/su mode {:o}", su.mode());
    ensure!((su.mtime(), su.mtime_nsec()) == (1_600_000_000, 123), "bin/su mtime {}", su.mtime());
    ensure!(su.nlink() == 2 && st("bin/su-link")?.ino() == su.ino(), "hard link lost");
    let sec = st("secret")?;
    ensure!((sec.uid(), sec.gid(), sec.mode() & 0o7777) == (1000, 1001, 0o700), "secret: {sec:?}");
    ensure!(sec.mtime() == 1_600_000_000, "secret mtime {}", sec.mtime());
    let link = st("secret/link")?;
    ensure!(link.file_type().is_symlink() && (link.uid(), link.gid()) == (7, 8), "symlink owner");
    ensure!(link.mtime() == 1_600_000_000, "symlink mtime {}", link.mtime());
    ensure!(fs::read_link(m.join("secret/link"))? == Path::new("../bin/su"), "symlink target");
    let fifo = st("fifo")?;
    ensure!(FileType::from_raw_mode(fifo.mode()) == FileType::Fifo && fifo.mode() & 0o777 == 0o640, "fifo");
    let null = st("null")?;
    ensure!(
        FileType::from_raw_mode(null.mode()) == FileType::CharacterDevice && null.rdev() == rustix::fs::makedev(1, 3),
        "device"
    );
    if xattr_ok {
        let mut v = [0u8; 16];
        let n = rustix::fs::lgetxattr(m.join("bin/su"), "user.wharf", &mut v[..])?;
        ensure!(&v[..n] == b"yes", "xattr value");
    }
    Ok(())
}

fn stack(ctx: &Ctx<'_>, s: &dyn Snapshotter, n: usize) -> CheckResult {
    let mut parent: Option<String> = None;
    for i in 0..n {
        let name = format!("sha256:{i:064}");
        layer(s, &name, parent.as_deref(), &[(&format!("layer-{i}"), &i.to_string())])?;
        parent = Some(name);
    }
    let top = parent.ok_or("no layers")?;
    let g = ctx.mount(&s.prepare("ctr", Some(&top), Labels::new())?)?;
    let t = g.target();
    for i in 0..n {
        ensure!(read(&t.join(format!("layer-{i}")))? == i.to_string(), "layer {i} missing in a {n}-layer mount");
    }
    write(&t.join("rw"), "ok")?;
    ensure!(fs::read(s.upper_dir("ctr")?.join("rw"))? == b"ok", "write did not reach the upper dir");
    let gv = ctx.mount(&s.view("view", Some(&top), Labels::new())?)?;
    ensure!(entries(gv.target())?.len() == n, "view of {n} layers");
    Ok(())
}

/// An image of [`MANY_LAYERS`] layers mounts (active and view) with every layer visible.
pub fn many_layers(ctx: &Ctx<'_>) -> CheckResult {
    let s = ctx.open("s")?;
    stack(ctx, s.as_ref(), MANY_LAYERS)
}

/// The same with a root path of over 200 bytes, where absolute lower dirs exceed a page.
pub fn many_layers_long_root(ctx: &Ctx<'_>) -> CheckResult {
    let root = ctx.dir().join("r".repeat(120)).join("o".repeat(100));
    let s = ctx.open_at(&root)?;
    stack(ctx, s.as_ref(), MANY_LAYERS)
}

/// Several threads preparing, committing, listing and removing on one snapshotter.
pub fn concurrent_use(ctx: &Ctx<'_>) -> CheckResult {
    let s: Arc<dyn Snapshotter> = Arc::from(ctx.open("s")?);
    layer(s.as_ref(), "base", None, &[("f", "base")])?;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || -> Result<(), String> {
                let mut parent = "base".to_string();
                for i in 0..8 {
                    let key = format!("t{t}-k{i}");
                    let name = format!("t{t}-c{i}");
                    s.prepare(&key, Some(&parent), Labels::new()).map_err(|e| e.to_string())?;
                    let dir = s.apply_dir(&key).map_err(|e| e.to_string())?;
                    fs::write(dir.join(format!("t{t}-{i}")), "x").map_err(|e| e.to_string())?;
                    s.commit(&name, &key, Labels::new()).map_err(|e| e.to_string())?;
                    s.list().map_err(|e| e.to_string())?;
                    s.view(&format!("{name}-v"), Some(&name), Labels::new()).map_err(|e| e.to_string())?;
                    s.remove(&format!("{name}-v")).map_err(|e| e.to_string())?;
                    parent = name;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "a thread panicked")??;
    }
    let names: BTreeMap<String, Kind> = s.list()?.into_iter().map(|i| (i.name, i.kind)).collect();
    ensure!(names.len() == 1 + 4 * 8, "expected 33 snapshots, got {}", names.len());
    ensure!(names.values().all(|k| *k == Kind::Committed), "non-committed snapshots remain");
    let g = ctx.mount(&s.view("v", Some("t3-c7"), Labels::new())?)?;
    ensure!(entries(g.target())?.len() == 1 + 8, "thread 3's chain: {:?}", entries(g.target())?);
    Ok(())
}

/// One `#[test]` per conformance check, for the snapshotters made by `$open`
/// (`Fn(&Path) -> wharf_snapshot::Result<Box<dyn Snapshotter>>`), skipped unless
/// `$supported(base_dir)` (default: always).
#[macro_export]
macro_rules! snapshotter_suite {
    ($open:expr) => {
        $crate::snapshotter_suite!($open, |_: &::std::path::Path| true);
    };
    ($open:expr, $supported:expr) => {
        $crate::__snapshotter_suite_tests!(
            $open, $supported;
            basic, stat_active, stat_committed, unknown_keys_not_found, invalid_keys,
            existing_key_conflicts, parent_must_be_committed, commit_requires_active,
            views_are_read_only, actives_are_copy_on_write, files_appear_in_child_after_commit,
            remove_with_children_refused, remove_active_frees_dirs, list_and_walk, usage, labels,
            independent_snapshotters, reopen_keeps_state, crash_leftovers_cleaned,
            metadata_preserved, many_layers, many_layers_long_root, concurrent_use, rebase_where_supported
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __snapshotter_suite_tests {
    ($open:expr, $supported:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                $crate::testsuite::run(stringify!($name), &$open, &$supported);
            }
        )*

        #[test]
        fn suite_lists_every_check() {
            $crate::testsuite::assert_covers(&[$(stringify!($name)),*]);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape_mountinfo(r"/tmp/a\040b\134c"), r"/tmp/a b\c");
        assert_eq!(unescape_mountinfo(r"/x\04"), r"/x\04");
    }

    #[test]
    fn every_check_has_a_unique_name() {
        let mut names: Vec<&str> = checks().iter().map(|c| c.name).collect();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(n >= 20);
    }
}
