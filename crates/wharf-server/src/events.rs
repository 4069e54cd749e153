//! `GET /events`: past events from the bus's history (when `since` or `until` is given), then
//! live ones, as newline-delimited JSON, until `until` passes, the client leaves, or the daemon
//! stops.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wharf_api::{EventActorWire, EventMessageWire};
use wharf_events::{Event, EventBus, EventFilter, EventType, Next, Subscription};
use wharf_types::{parse_timestamp, Filters};

use crate::error::ApiError;

#[derive(Clone)]
struct EventsState {
    bus: Arc<EventBus>,
    shutdown: CancellationToken,
}

#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    since: Option<String>,
    until: Option<String>,
    filters: Option<String>,
}

pub(crate) fn routes(bus: Arc<EventBus>, shutdown: CancellationToken) -> Router {
    Router::new().route("/events", get(events)).with_state(EventsState { bus, shutdown })
}

async fn events(State(st): State<EventsState>, Query(q): Query<EventsQuery>) -> Result<Response, ApiError> {
    let now = crate::now_nanos();
    let time = |v: Option<String>| -> Result<Option<i64>, ApiError> {
        match v.filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_timestamp(&s, now).map(Some).map_err(ApiError::from_err),
        }
    };
    let since = time(q.since)?;
    let until = time(q.until)?;
    if let (Some(s), Some(u)) = (since, until) {
        if u < s {
            return Err(ApiError::invalid("since time must be before until time"));
        }
    }
    let filters = Filters::from_json(q.filters.as_deref().unwrap_or("")).map_err(ApiError::from_err)?;
    let filter = EventFilter::new(filters).map_err(ApiError::from_err)?;
    let (past, sub) = st.bus.subscribe(since, until, filter);
    let deadline = until.map(|u| {
        let wait = u.saturating_sub(crate::now_nanos()).max(0) as u64;
        Instant::now() + std::time::Duration::from_nanos(wait)
    });
    let stream = EventStream { past: past.into(), sub, until, deadline, shutdown: st.shutdown };
    let body = Body::from_stream(futures_util::stream::unfold(stream, EventStream::next_line));
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

struct EventStream {
    past: VecDeque<Arc<Event>>,
    sub: Subscription,
    until: Option<i64>,
    deadline: Option<Instant>,
    shutdown: CancellationToken,
}

impl EventStream {
    async fn next_line(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if let Some(e) = self.past.pop_front() {
            return Some((Ok(line(&e)), self));
        }
        loop {
            let deadline = self.deadline;
            let expired = async move {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                _ = expired => return None,
                next = self.sub.next() => match next {
                    Next::Event(e) if self.until.is_some_and(|u| e.time_nano > u) => return None,
                    Next::Event(e) => return Some((Ok(line(&e)), self)),
                    Next::Lagged(n) => tracing::warn!("an events subscriber fell behind and missed {n} events"),
                    Next::Closed => return None,
                },
            }
        }
    }
}

fn line(e: &Event) -> Bytes {
    let mut v = serde_json::to_vec(&wire(e)).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

pub(crate) fn wire(e: &Event) -> EventMessageWire {
    let legacy = matches!(e.typ, EventType::Container | EventType::Image);
    EventMessageWire {
        status: legacy.then(|| e.action.clone()),
        id: legacy.then(|| e.actor_id.clone()),
        from: (e.typ == EventType::Container).then(|| e.attributes.get("image").cloned()).flatten(),
        typ: e.typ.as_str().to_string(),
        action: e.action.clone(),
        actor: EventActorWire { id: e.actor_id.clone(), attributes: e.attributes.clone() },
        scope: e.scope.as_str().to_string(),
        time: e.time_nano.div_euclid(1_000_000_000),
        time_nano: e.time_nano,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_matches_docker() {
        let e = Event::new(EventType::Container, "start", "abc", 1_700_000_000_123_456_789)
            .with_attr("image", "busybox")
            .with_attr("name", "web");
        let v = serde_json::to_value(wire(&e)).unwrap();
        assert_eq!(v["status"], "start");
        assert_eq!(v["id"], "abc");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["Type"], "container");
        assert_eq!(v["Actor"]["Attributes"]["name"], "web");
        assert_eq!(v["scope"], "local");
        assert_eq!(v["time"], 1_700_000_000);
        assert_eq!(v["timeNano"], 1_700_000_000_123_456_789i64);
        let d = serde_json::to_value(wire(&Event::new(EventType::Daemon, "reload", "ID", 0))).unwrap();
        assert!(d.get("status").is_none() && d.get("from").is_none());
    }
}
