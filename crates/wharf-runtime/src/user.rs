//! `Config.User` and `HostConfig.GroupAdd` resolved against the container's own `/etc/passwd`
//! and `/etc/group`, with the semantics of runc's `user.GetExecUserPath` and
//! `user.GetAdditionalGroupsPath` as moby's `getUser` uses them.
//!
//! The files come from an untrusted root filesystem: they are opened through
//! [`wharf_fs::Root`], so symlinks (absolute or relative) resolve inside the rootfs and never
//! reach the host; a file that cannot be opened counts as absent, as in runc.

use std::io::Read;
use std::path::Path;

use wharf_fs::Root;

use crate::config::ResolvedUser;
use crate::error::RuntimeError;

/// Largest passwd/group file read (a rootfs is untrusted input).
const MAX_FILE: u64 = 16 << 20;
/// runc refuses ids outside 0..=2³¹−1.
const MAX_ID: i64 = (1 << 31) - 1;
const ERR_RANGE: &str = "uids and gids must be in range 0-2147483647";
const NO_PASSWD: &str = "no matching entries in passwd file";
const NO_GROUP: &str = "no matching entries in group file";

/// Resolves `Config.User` (`""`, `name`, `uid`, `name:group`, `uid:gid`, …) and `GroupAdd`
/// inside the mounted root filesystem at `rootfs`, as Docker does when it starts a container:
/// an empty user is uid 0 with root's supplementary groups, a numeric uid without a passwd
/// entry is accepted with gid 0, and `additional_gids` is the primary gid, then the user's
/// supplementary groups (only when no group was given explicitly), then the `GroupAdd` ids.
pub fn resolve_user(rootfs: &Path, user: &str, group_add: &[String]) -> Result<ResolvedUser, RuntimeError> {
    let root = Root::new(rootfs).map_err(|e| RuntimeError::Host(format!("open root filesystem: {e}")))?;
    let passwd = read_optional(&root, "/etc/passwd")?;
    let group = read_optional(&root, "/etc/group")?;
    resolve_user_from(user, group_add, passwd.as_deref(), group.as_deref())
}

/// Reads a file inside the root; `None` when it cannot be opened (missing, dangling or
/// escaping symlink, not a regular file), as runc treats an unopenable file.
fn read_optional(root: &Root, path: &str) -> Result<Option<String>, RuntimeError> {
    let Ok(file) = root.open(path) else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| RuntimeError::User(format!("read {path} of the container: {e}")))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(RuntimeError::User(format!("{path} of the container is larger than {MAX_FILE} bytes")));
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// [`resolve_user`] over the contents of `/etc/passwd` and `/etc/group` (`None` = absent).
pub fn resolve_user_from(
    user: &str,
    group_add: &[String],
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<ResolvedUser, RuntimeError> {
    let exec = exec_user(user, passwd, group)?;
    let mut additional = vec![exec.gid];
    additional.extend(exec.sgids.iter().copied());
    if !group_add.is_empty() {
        additional.extend(additional_groups(group_add, group)?);
    }
    Ok(ResolvedUser { uid: exec.uid, gid: exec.gid, additional_gids: additional })
}

struct ExecUser {
    uid: u32,
    gid: u32,
    sgids: Vec<u32>,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: i64,
    gid: i64,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: i64,
    members: Vec<&'a str>,
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits, no overflow.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// runc's `parseLine`: the `n`th `:`-separated field, empty when missing.
fn field(line: &str, n: usize) -> &str {
    line.split(':').nth(n).unwrap_or("")
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    // name:password:UID:GID:GECOS:directory:shell; a malformed number reads as 0 (runc).
    lines(text).map(|l| PasswdEntry {
        name: field(l, 0),
        uid: atoi(field(l, 2)).unwrap_or(0),
        gid: atoi(field(l, 3)).unwrap_or(0),
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    // group_name:password:GID:user_list
    lines(text).map(|l| {
        let list = field(l, 3);
        GroupEntry {
            name: field(l, 0),
            gid: atoi(field(l, 2)).unwrap_or(0),
            members: if list.is_empty() { Vec::new() } else { list.split(',').collect() },
        }
    })
}

fn in_range(id: i64) -> Result<u32, RuntimeError> {
    if (0..=MAX_ID).contains(&id) {
        Ok(id as u32)
    } else {
        Err(RuntimeError::User(ERR_RANGE.into()))
    }
}

/// runc's `GetExecUser` with zero defaults.
fn exec_user(spec: &str, passwd: Option<&str>, group: Option<&str>) -> Result<ExecUser, RuntimeError> {
    let user_arg = field(spec, 0);
    let group_arg = field(spec, 1);
    let uid_arg = atoi(user_arg);
    let gid_arg = atoi(group_arg);

    let (mut uid, mut gid) = (0i64, 0i64);
    let mut matched_name: Option<&str> = None;
    let found = passwd.and_then(|text| {
        passwd_entries(text).find(|u| match (user_arg, uid_arg) {
            ("", _) => u.uid == 0,
            (_, Some(n)) => u.uid == n,
            (name, None) => u.name == name,
        })
    });
    if let Some(u) = found {
        matched_name = Some(u.name);
        uid = u.uid;
        gid = u.gid;
    } else if !user_arg.is_empty() {
        let Some(n) = uid_arg else {
            return Err(RuntimeError::User(format!("unable to find user {user_arg}: {NO_PASSWD}")));
        };
        uid = in_range(n)?.into();
    }

    let mut sgids = Vec::new();
    if !group_arg.is_empty() || matched_name.is_some() {
        let groups: Vec<GroupEntry<'_>> = group
            .map(|text| {
                group_entries(text)
                    .filter(|g| match (group_arg, gid_arg) {
                        ("", _) => matched_name.is_some_and(|n| g.members.contains(&n)),
                        (_, Some(n)) => g.gid == n,
                        (name, None) => g.name == name,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !group_arg.is_empty() {
            if let Some(g) = groups.first() {
                gid = g.gid;
            } else {
                let Some(n) = gid_arg else {
                    return Err(RuntimeError::User(format!("unable to find group {group_arg}: {NO_GROUP}")));
                };
                gid = in_range(n)?.into();
            }
        } else {
            // Supplementary groups only in the implicit form (ids wrap as in Go's uint32()).
            sgids = groups.iter().map(|g| g.gid as u32).collect();
        }
    }
    Ok(ExecUser { uid: uid as u32, gid: gid as u32, sgids })
}

/// runc's `GetAdditionalGroups`: each entry is a group name or gid from `/etc/group`, or a
/// numeric gid; the result is deduplicated (and sorted here; Go's map order is random).
fn additional_groups(wanted: &[String], group: Option<&str>) -> Result<Vec<u32>, RuntimeError> {
    let groups: Vec<GroupEntry<'_>> = group
        .map(|text| {
            group_entries(text).filter(|g| wanted.iter().any(|w| g.name == w || g.gid.to_string() == *w)).collect()
        })
        .unwrap_or_default();
    let mut gids: Vec<i64> = Vec::new();
    for w in wanted {
        let mut found = false;
        for g in &groups {
            if (g.name == w || g.gid.to_string() == *w) && !gids.contains(&g.gid) {
                gids.push(g.gid);
                found = true;
                break;
            }
        }
        if !found {
            // runc parses the entry as a number even when it named a group already added.
            let Some(n) = w.parse::<i64>().ok() else {
                return Err(RuntimeError::User(format!("Unable to find group {w}: {NO_GROUP}")));
            };
            let n = in_range(n)?;
            if !gids.contains(&n.into()) {
                gids.push(n.into());
            }
        }
    }
    let mut out: Vec<u32> = gids.into_iter().map(|g| g as u32).collect();
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        \n\
        alice:x:1000:1000:Alice:/home/alice:/bin/sh\n\
        bob:x:1001:100::/home/bob:/bin/sh\n";
    const GROUP: &str = "root:x:0:root\n\
        bin:x:1:root,daemon\n\
        wheel:x:10:root,alice\n\
        users:x:100:\n\
        alice:x:1000:\n\
        audio:x:29:alice,bob\n";

    fn r(user: &str, add: &[&str]) -> Result<ResolvedUser, RuntimeError> {
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve_user_from(user, &add, Some(PASSWD), Some(GROUP))
    }

    fn u(uid: u32, gid: u32, extra: &[u32]) -> ResolvedUser {
        ResolvedUser { uid, gid, additional_gids: extra.to_vec() }
    }

    #[test]
    fn names_uids_and_groups() {
        assert_eq!(r("", &[]).unwrap(), u(0, 0, &[0, 0, 1, 10]));
        assert_eq!(r("root", &[]).unwrap(), u(0, 0, &[0, 0, 1, 10]));
        assert_eq!(r("alice", &[]).unwrap(), u(1000, 1000, &[1000, 10, 29]));
        assert_eq!(r("1000", &[]).unwrap(), u(1000, 1000, &[1000, 10, 29]));
        assert_eq!(r("bob", &[]).unwrap(), u(1001, 100, &[100, 29]));
        // An explicit group replaces the primary group and drops the supplementary ones.
        assert_eq!(r("alice:users", &[]).unwrap(), u(1000, 100, &[100]));
        assert_eq!(r("alice:29", &[]).unwrap(), u(1000, 29, &[29]));
        // Unknown numeric ids are fine.
        assert_eq!(r("4242", &[]).unwrap(), u(4242, 0, &[0]));
        assert_eq!(r("4242:4343", &[]).unwrap(), u(4242, 4343, &[4343]));
        assert_eq!(r("0:0", &[]).unwrap(), u(0, 0, &[0]));
    }

    #[test]
    fn group_add() {
        assert_eq!(r("alice", &["audio", "5000", "users"]).unwrap(), u(1000, 1000, &[1000, 10, 29, 29, 100, 5000]));
        assert_eq!(r("", &["wheel"]).unwrap(), u(0, 0, &[0, 0, 1, 10, 10]));
        assert_eq!(
            r("", &["nogroup"]).unwrap_err().to_string(),
            "Unable to find group nogroup: no matching entries in group file"
        );
    }

    #[test]
    fn errors_in_runcs_words() {
        assert_eq!(
            r("mallory", &[]).unwrap_err().to_string(),
            "unable to find user mallory: no matching entries in passwd file"
        );
        assert_eq!(
            r("alice:staff", &[]).unwrap_err().to_string(),
            "unable to find group staff: no matching entries in group file"
        );
        assert_eq!(r("-1", &[]).unwrap_err().to_string(), "uids and gids must be in range 0-2147483647");
        assert_eq!(r("2147483648", &[]).unwrap_err().to_string(), "uids and gids must be in range 0-2147483647");
        // Without the files, names cannot resolve but numbers can.
        assert!(resolve_user_from("alice", &[], None, None).is_err());
        assert_eq!(resolve_user_from("", &[], None, None).unwrap(), u(0, 0, &[0]));
        assert_eq!(resolve_user_from("7:8", &[], None, None).unwrap(), u(7, 8, &[8]));
    }

    #[test]
    fn reads_the_files_inside_the_rootfs() {
        let d = tempfile::tempdir().unwrap();
        let rootfs = d.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::fs::write(rootfs.join("etc/passwd"), PASSWD).unwrap();
        std::fs::write(rootfs.join("etc/group"), GROUP).unwrap();
        assert_eq!(resolve_user(&rootfs, "alice", &["audio".into()]).unwrap(), u(1000, 1000, &[1000, 10, 29, 29]));
    }

    #[test]
    fn symlinks_never_leave_the_rootfs() {
        let d = tempfile::tempdir().unwrap();
        let host = d.path().join("host");
        std::fs::create_dir_all(&host).unwrap();
        std::fs::write(host.join("passwd"), "evil:x:0:0::/:/bin/sh\n").unwrap();
        std::fs::write(host.join("group"), "evil:x:0:evil\n").unwrap();
        let rootfs = d.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        // Absolute and relative links to the host's files.
        std::os::unix::fs::symlink(host.join("passwd"), rootfs.join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("../../../../../../host/group", rootfs.join("etc/group")).unwrap();
        assert_eq!(
            resolve_user(&rootfs, "evil", &[]).unwrap_err().to_string(),
            "unable to find user evil: no matching entries in passwd file"
        );
        assert_eq!(
            resolve_user(&rootfs, "0:evil", &[]).unwrap_err().to_string(),
            "unable to find group evil: no matching entries in group file"
        );
        // A link that stays inside the root is followed.
        std::fs::create_dir_all(rootfs.join("host")).unwrap();
        std::fs::write(rootfs.join("host/group"), "inside:x:77:\n").unwrap();
        assert_eq!(resolve_user(&rootfs, "0:inside", &[]).unwrap(), u(0, 77, &[77]));
    }
}
