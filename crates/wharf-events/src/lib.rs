//! The event bus every capability publishes to, and `GET /events` reads from.
//!
//! Publishing never blocks and never fails: a slow subscriber that falls behind the channel's
//! capacity is told how many events it missed ([`Next::Lagged`]) instead of slowing the
//! publisher. The last [`HISTORY`] events are kept in memory for `since` replays, as Docker keeps
//! its last 256; history does not survive a daemon restart (nor does Docker's).
//!
//! Invariant: no knowledge of HTTP or JSON; filters are Docker's keys applied to [`Event`]s.

mod filter;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
pub use wharf_types::{Event, EventType, Scope};

pub use filter::{EventFilter, ACCEPTED_FILTERS};

/// How many past events are kept for replay.
pub const HISTORY: usize = 1024;
const CHANNEL: usize = 4096;

/// The bus. Cheap to share behind an `Arc`.
pub struct EventBus {
    history: Mutex<VecDeque<Arc<Event>>>,
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// An empty bus.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL);
        EventBus { history: Mutex::new(VecDeque::with_capacity(HISTORY)), tx }
    }

    /// Publishes `event` to every subscriber and to the history.
    pub fn publish(&self, event: Event) {
        let event = Arc::new(event);
        // Holding the history lock while sending keeps history and live order identical, so a
        // subscriber taken under the same lock sees each event exactly once.
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(event.clone());
        let _ = self.tx.send(event);
    }

    /// How many subscriptions are open.
    pub fn listeners(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Subscribes: returns the past events in `[since, until]` that pass `filter` (none when
    /// both bounds are absent, as in Docker) and a live subscription starting right after them.
    pub fn subscribe(
        &self,
        since: Option<i64>,
        until: Option<i64>,
        filter: EventFilter,
    ) -> (Vec<Arc<Event>>, Subscription) {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let rx = self.tx.subscribe();
        let mut past = Vec::new();
        if since.is_some() || until.is_some() {
            let since = since.unwrap_or(i64::MIN);
            let until = until.unwrap_or(i64::MAX);
            past.extend(
                history.iter().filter(|e| e.time_nano >= since && e.time_nano <= until && filter.matches(e)).cloned(),
            );
        }
        (past, Subscription { rx, filter })
    }
}

/// A live subscription.
pub struct Subscription {
    rx: broadcast::Receiver<Arc<Event>>,
    filter: EventFilter,
}

/// What [`Subscription::next`] yields.
#[derive(Debug)]
pub enum Next {
    /// An event that passed the filter.
    Event(Arc<Event>),
    /// The subscriber fell behind and this many events were dropped for it.
    Lagged(u64),
    /// The bus is gone.
    Closed,
}

impl Subscription {
    /// Waits for the next event that passes the filter.
    pub async fn next(&mut self) -> Next {
        loop {
            match self.rx.recv().await {
                Ok(e) if self.filter.matches(&e) => return Next::Event(e),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => return Next::Lagged(n),
                Err(broadcast::error::RecvError::Closed) => return Next::Closed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_types::Filters;

    fn ev(t: i64, action: &str) -> Event {
        Event::new(EventType::Container, action, format!("id{t}"), t)
    }

    #[tokio::test]
    async fn live_events_reach_subscribers_in_order() {
        let bus = EventBus::new();
        let (past, mut sub) = bus.subscribe(None, None, EventFilter::default());
        assert!(past.is_empty());
        bus.publish(ev(1, "create"));
        bus.publish(ev(2, "start"));
        let Next::Event(a) = sub.next().await else { panic!() };
        let Next::Event(b) = sub.next().await else { panic!() };
        assert_eq!((a.action.as_str(), b.action.as_str()), ("create", "start"));
    }

    #[tokio::test]
    async fn history_replays_within_bounds_and_filter() {
        let bus = EventBus::new();
        for t in 1..=5 {
            bus.publish(ev(t, if t % 2 == 0 { "start" } else { "create" }));
        }
        let f = EventFilter::new(Filters::from_pairs([("event", "create")])).unwrap();
        let (past, _) = bus.subscribe(Some(2), Some(5), f);
        let times: Vec<i64> = past.iter().map(|e| e.time_nano).collect();
        assert_eq!(times, vec![3, 5]);
        let (none, _) = bus.subscribe(None, None, EventFilter::default());
        assert!(none.is_empty(), "no replay without since/until, as Docker");
    }

    #[test]
    fn history_is_bounded() {
        let bus = EventBus::new();
        for t in 0..(HISTORY as i64 + 10) {
            bus.publish(ev(t, "x"));
        }
        let (past, _) = bus.subscribe(Some(0), None, EventFilter::default());
        assert_eq!(past.len(), HISTORY);
        assert_eq!(past[0].time_nano, 10);
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged() {
        let bus = EventBus::new();
        let (_, mut sub) = bus.subscribe(None, None, EventFilter::default());
        for t in 0..(CHANNEL as i64 + 5) {
            bus.publish(ev(t, "x"));
        }
        assert!(matches!(sub.next().await, Next::Lagged(5)));
    }
}
