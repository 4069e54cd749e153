//! Commands on a container's filesystem besides `cp` (`cp.rs`): `wharf diff`
//! (`GET /containers/{id}/changes`, printed `C /path`, `A /path`, `D /path`), `wharf
//! export` (`GET /containers/{id}/export` to a file, atomically, or to a stdout that is
//! not a terminal) and `wharf commit` (`POST /commit?container=&repo=&tag=&comment=
//! &author=&changes=&pause=`, printing the new image ID), with docker 28's flags,
//! queries and messages.

use std::io::{IsTerminal, Write};

use anyhow::anyhow;
use clap::Args;
use futures_util::StreamExt;
use http::Method;
use serde_json::Value;
use wharf_reference::commit_target;

use crate::cli::parse_go_bool;
use crate::connect::path_escape;
use crate::filters::Query;
use crate::image::connect;
use crate::image_io::Output;
use crate::system::Target;

// ---------------------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// The lines of `diff` for the daemon's list of changes (`Kind` 0 modified, 1 added,
/// 2 deleted).
pub(crate) fn diff_lines(changes: &Value) -> String {
    let mut out = String::new();
    for c in changes.as_array().into_iter().flatten() {
        let kind = match c["Kind"].as_i64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "",
        };
        out.push_str(&format!("{kind} {}\n", c["Path"].as_str().unwrap_or("")));
    }
    out
}

/// `wharf diff`.
pub(crate) async fn diff(t: &Target, a: &DiffArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let changes = conn.raw_json(Method::GET, &format!("/containers/{}/changes", path_escape(&a.container))).await?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(diff_lines(&changes).as_bytes())?;
    stdout.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// export
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "string")]
    pub output: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `wharf export`.
pub(crate) async fn export(t: &Target, a: &ExportArgs) -> anyhow::Result<()> {
    let mut output = match a.output.as_deref().filter(|o| !o.is_empty()) {
        None => {
            let out = std::io::stdout();
            if out.is_terminal() {
                return Err(anyhow!("cowardly refusing to save to a terminal. Use the -o flag or redirect"));
            }
            Output::Stdout(out)
        }
        Some(name) => Output::file(name).map_err(|e| anyhow!("failed to export container: {e}"))?,
    };
    let conn = connect(t).await?;
    let mut stream = conn.raw(Method::GET, &format!("/containers/{}/export", path_escape(&a.container)), None);
    while let Some(chunk) = stream.next().await {
        output.write(&chunk.map_err(|e| conn.error(e))?)?;
    }
    output.commit()
}

// ---------------------------------------------------------------------------------------
// commit
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long, value_name = "string", default_value = "", hide_default_value = true)]
    pub author: String,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long, value_name = "list")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long, value_name = "string", default_value = "", hide_default_value = true)]
    pub message: String,
    /// Pause container during commit (default true)
    #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "true", hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub pause: bool,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// The query of `POST /commit`, as the docker client builds it: the reference split
/// into its normalized name and tag (`latest` by default), `pause=0` only when not
/// pausing.
pub(crate) fn commit_query(a: &CommitArgs) -> Result<String, String> {
    let (repo, tag) = match a.reference.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => commit_target(r).map_err(|e| e.to_string())?,
        None => (String::new(), String::new()),
    };
    let mut q = Query::default();
    q.add("container", &a.container).add("repo", &repo).add("tag", &tag);
    q.add("comment", &a.message).add("author", &a.author);
    for c in &a.change {
        q.add("changes", c);
    }
    if !a.pause {
        q.add("pause", "0");
    }
    Ok(q.encode())
}

/// `wharf commit`.
pub(crate) async fn commit(t: &Target, a: &CommitArgs) -> anyhow::Result<()> {
    let query = commit_query(a).map_err(anyhow::Error::msg)?;
    let conn = connect(t).await?;
    let answer = conn.raw_json(Method::POST, &format!("/commit{query}")).await?;
    println!("{}", answer["Id"].as_str().unwrap_or(""));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        a: CommitArgs,
    }

    fn commit(args: &[&str]) -> Result<String, String> {
        let mut all = vec!["t"];
        all.extend_from_slice(args);
        commit_query(&T::try_parse_from(all).expect("parse").a)
    }

    #[test]
    fn diff_like_docker() {
        let changes =
            json!([{"Path": "/tmp", "Kind": 0}, {"Path": "/tmp/x", "Kind": 1}, {"Path": "/etc/old", "Kind": 2}]);
        assert_eq!(diff_lines(&changes), "C /tmp\nA /tmp/x\nD /etc/old\n");
        assert_eq!(diff_lines(&Value::Null), "");
        assert_eq!(diff_lines(&json!([{"Path": "/odd", "Kind": 7}])), " /odd\n");
    }

    /// The queries docker 28.2 sends (Go's encoder writes spaces as `+`; both decode alike).
    #[test]
    fn commit_queries_like_docker() {
        assert_eq!(commit(&["web"]).as_deref(), Ok("?author=&comment=&container=web&repo=&tag="));
        assert_eq!(
            commit(&["-a", "me", "-m", "msg", "-c", "ENV=1", "-c", r#"CMD ["sh"]"#, "--pause=false", "web", "repo/x:tag"])
                .as_deref(),
            Ok("?author=me&changes=ENV%3D1&changes=CMD%20%5B%22sh%22%5D&comment=msg&container=web&pause=0&repo=docker.io%2Frepo%2Fx&tag=tag")
        );
        assert_eq!(
            commit(&["-p", "web", "busybox"]).as_deref(),
            Ok("?author=&comment=&container=web&repo=docker.io%2Flibrary%2Fbusybox&tag=latest")
        );
        assert_eq!(commit(&["web", "bad::ref"]), Err("invalid reference format".into()));
        assert_eq!(
            commit(&["web", &format!("x@sha256:{}", "a".repeat(64))]),
            Err("refusing to create a tag with a digest reference".into())
        );
    }
}
