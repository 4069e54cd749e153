//! `wharf logs`: like the docker CLI, the container is inspected first (for its ID and
//! whether it has a TTY), then `GET /containers/{id}/logs` is copied raw for a TTY, or
//! demultiplexed to stdout and stderr otherwise.

use clap::Args;
use futures_util::StreamExt;
use http::Method;

use crate::connect::path_escape;
use crate::filters::Query;
use crate::hijack;
use crate::image::connect;
use crate::system::Target;
use crate::timeutil;

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub since: String,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, value_name = "string", default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub until: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// The query of `GET /containers/{id}/logs` (`now` resolves relative times).
pub(crate) fn logs_query(a: &LogsArgs, now: chrono::DateTime<chrono::FixedOffset>) -> Result<String, String> {
    let mut q = Query::default();
    q.add("stdout", "1");
    q.add("stderr", "1");
    if !a.since.is_empty() {
        let ts = timeutil::get_timestamp(&a.since, now).map_err(|e| format!("invalid value for \"since\": {e}"))?;
        q.add("since", &ts);
    }
    if !a.until.is_empty() {
        let ts = timeutil::get_timestamp(&a.until, now).map_err(|e| format!("invalid value for \"until\": {e}"))?;
        q.add("until", &ts);
    }
    if a.timestamps {
        q.add("timestamps", "1");
    }
    if a.details {
        q.add("details", "1");
    }
    if a.follow {
        q.add("follow", "1");
    }
    q.add("tail", &a.tail);
    Ok(q.encode())
}

/// `wharf logs`.
pub(crate) async fn logs(t: &Target, a: &LogsArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let c = conn.raw_json(Method::GET, &format!("/containers/{}/json", path_escape(&a.container))).await?;
    let id = c["Id"].as_str().unwrap_or(&a.container).to_string();
    let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
    let query = logs_query(a, timeutil::now_local()).map_err(anyhow::Error::msg)?;
    let conn2 = conn.clone();
    let stream = conn.raw(Method::GET, &format!("/containers/{}/logs{query}", path_escape(&id)), None);
    hijack::copy_output(Box::pin(stream.map(move |c| c.map_err(|e| conn2.error(e)))), tty, true, true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        a: LogsArgs,
    }

    #[test]
    fn query_like_docker() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T02:45:17+00:00").expect("time");
        let a = T::try_parse_from([
            "t",
            "-f",
            "-t",
            "--details",
            "--since",
            "10m",
            "--until",
            "2026-01-01",
            "-n",
            "5",
            "x",
        ])
        .expect("parse")
        .a;
        assert_eq!(
            logs_query(&a, now).as_deref(),
            Ok("?details=1&follow=1&since=1795919717&stderr=1&stdout=1&tail=5&timestamps=1&until=1767225600.000000000")
        );
        let a = T::try_parse_from(["t", "x"]).expect("parse").a;
        assert_eq!(logs_query(&a, now).as_deref(), Ok("?stderr=1&stdout=1&tail=all"));
        let a = T::try_parse_from(["t", "--since", "bogus", "x"]).expect("parse").a;
        assert_eq!(
            logs_query(&a, now),
            Err("invalid value for \"since\": failed to parse value as time or duration: \"bogus\"".into())
        );
    }
}
