//! Docker's event filters (`type`, `event`, `container`, `image`, `label`, …) over [`Event`]s.

use wharf_types::{Event, EventType, FilterError, Filters};

/// The filter keys `GET /events` accepts.
pub const ACCEPTED_FILTERS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// A validated event filter.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    f: Filters,
}

impl EventFilter {
    /// Validates `filters` against [`ACCEPTED_FILTERS`].
    pub fn new(filters: Filters) -> Result<Self, FilterError> {
        filters.validate(ACCEPTED_FILTERS)?;
        for t in filters.get("type") {
            if !TYPES.contains(&t) {
                return Err(FilterError::BadValue { key: "type".into(), value: t.into() });
            }
        }
        Ok(EventFilter { f: filters })
    }

    /// True when `e` passes every key.
    pub fn matches(&self, e: &Event) -> bool {
        let f = &self.f;
        let attr = |k: &str| e.attributes.get(k).map(String::as_str);
        f.exact_match("type", e.typ.as_str())
            && self.matches_action(&e.action)
            && f.exact_match("scope", e.scope.as_str())
            && f.match_labels("label", attr)
            && self.matches_object(e, EventType::Container, "container")
            && self.matches_object(e, EventType::Network, "network")
            && self.matches_object(e, EventType::Volume, "volume")
            && self.matches_object(e, EventType::Plugin, "plugin")
            && self.matches_object(e, EventType::Daemon, "daemon")
            && self.matches_object(e, EventType::Node, "node")
            && self.matches_object(e, EventType::Service, "service")
            && self.matches_object(e, EventType::Secret, "secret")
            && self.matches_object(e, EventType::Config, "config")
            && self.matches_image(e)
    }

    /// `event=start` also matches `exec_start: sh -c …`-style actions by their prefix before ':'.
    fn matches_action(&self, action: &str) -> bool {
        let base = action.split_once(':').map(|(a, _)| a).unwrap_or(action);
        self.f.exact_match_any("event", [action, base])
    }

    /// A filter on an object kind passes events of that kind whose id or name matches; events of
    /// another kind are rejected when the key is given (Docker's semantics).
    fn matches_object(&self, e: &Event, kind: EventType, key: &str) -> bool {
        if !self.f.contains(key) {
            return true;
        }
        if e.typ != kind {
            // a container filter also passes network/volume events naming that container
            return kind == EventType::Container
                && e.attributes.get("container").is_some_and(|c| self.f.exact_match(key, c));
        }
        let name = e.attributes.get("name").map(String::as_str).unwrap_or("");
        self.f.exact_match_any(key, [e.actor_id.as_str(), name]) || self.f.prefix_match(key, &e.actor_id)
    }

    fn matches_image(&self, e: &Event) -> bool {
        if !self.f.contains("image") {
            return true;
        }
        let image = e.attributes.get("image").map(String::as_str).unwrap_or("");
        let name = e.attributes.get("name").map(String::as_str).unwrap_or("");
        let base = |s: &str| s.rsplit_once(':').map(|(n, _)| n.to_string()).unwrap_or_else(|| s.to_string());
        let (image_base, name_base) = (base(image), base(name));
        let mut candidates = vec![image, image_base.as_str()];
        if e.typ == EventType::Image {
            candidates.extend([e.actor_id.as_str(), name, name_base.as_str()]);
        }
        self.f.exact_match_any("image", candidates.into_iter().filter(|s| !s.is_empty()))
    }
}

const TYPES: &[&str] =
    &["builder", "config", "container", "daemon", "image", "network", "node", "plugin", "secret", "service", "volume"];

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> EventFilter {
        EventFilter::new(Filters::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn container(action: &str) -> Event {
        Event::new(EventType::Container, action, "4f2c0123abcd", 1)
            .with_attr("name", "web")
            .with_attr("image", "busybox:latest")
            .with_attr("tier", "front")
    }

    #[test]
    fn type_event_and_container() {
        let e = container("start");
        assert!(f(&[]).matches(&e));
        assert!(f(&[("type", "container")]).matches(&e));
        assert!(!f(&[("type", "image")]).matches(&e));
        assert!(f(&[("event", "start"), ("event", "stop")]).matches(&e));
        assert!(!f(&[("event", "die")]).matches(&e));
        assert!(f(&[("container", "web")]).matches(&e));
        assert!(f(&[("container", "4f2c")]).matches(&e));
        assert!(!f(&[("container", "db")]).matches(&e));
        assert!(f(&[("event", "exec_start")]).matches(&container("exec_start: sh -c true")));
    }

    #[test]
    fn image_and_labels() {
        let e = container("create");
        assert!(f(&[("image", "busybox")]).matches(&e));
        assert!(f(&[("image", "busybox:latest")]).matches(&e));
        assert!(!f(&[("image", "alpine")]).matches(&e));
        assert!(f(&[("label", "tier=front")]).matches(&e));
        assert!(!f(&[("label", "tier=back")]).matches(&e));
    }

    #[test]
    fn object_filter_rejects_other_kinds() {
        let d = Event::new(EventType::Daemon, "reload", "ID", 1).with_attr("name", "host");
        assert!(!f(&[("container", "web")]).matches(&d));
        assert!(f(&[("daemon", "host")]).matches(&d));
    }

    #[test]
    fn unknown_keys_and_types_are_refused() {
        assert!(EventFilter::new(Filters::from_pairs([("colour", "red")])).is_err());
        assert!(EventFilter::new(Filters::from_pairs([("type", "spaceship")])).is_err());
    }
}
