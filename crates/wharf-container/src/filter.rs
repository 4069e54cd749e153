//! `docker ps` filters: `id`, `name`, `label`, `status`, `ancestor`, `before`, `since`,
//! `exited`, `health`, `volume`, `network`, `publish`, `expose`, `is-task`.

use wharf_types::Filters;

use crate::error::{ContainerError, Result};
use crate::model::{Container, Status};

/// Filter keys `docker ps` accepts.
pub const PS_FILTERS: &[&str] = &[
    "id", "name", "label", "status", "ancestor", "before", "since", "exited", "health", "volume", "network", "publish",
    "expose", "is-task",
];

const STATUSES: &[&str] = &["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/// Filters of a listing, resolved against the containers they name.
pub struct PsFilter<'f> {
    filters: &'f Filters,
    before: Option<i64>,
    since: Option<i64>,
    exited: Vec<i64>,
    /// Image IDs matching `ancestor`.
    ancestors: Option<Vec<String>>,
}

impl<'f> PsFilter<'f> {
    /// Validates `filters`; `lookup` finds containers named by `before`/`since`, `image_ids`
    /// resolves an `ancestor` value to the image IDs it names.
    pub fn new(
        filters: &'f Filters,
        lookup: impl Fn(&str) -> Result<Container>,
        image_ids: impl Fn(&str) -> Vec<String>,
    ) -> Result<Self> {
        filters.validate(PS_FILTERS).map_err(|e| ContainerError::Invalid(e.to_string()))?;
        for s in filters.get("status") {
            if !STATUSES.contains(&s) {
                return Err(ContainerError::Invalid(format!(
                    "invalid filter 'status={s}': Invalid filter value for 'status': Valid values are: created, restarting, running, removing, paused, exited, dead"
                )));
            }
        }
        let created = |key: &str| -> Result<Option<i64>> {
            match filters.get(key).next() {
                None => Ok(None),
                Some(v) => Ok(Some(lookup(v)?.created)),
            }
        };
        let exited = filters
            .get("exited")
            .map(|v| v.parse::<i64>().map_err(|_| ContainerError::Invalid(format!("invalid filter 'exited={v}'"))))
            .collect::<Result<Vec<_>>>()?;
        let ancestors = filters.contains("ancestor").then(|| filters.get("ancestor").flat_map(&image_ids).collect());
        Ok(PsFilter { filters, before: created("before")?, since: created("since")?, exited, ancestors })
    }

    /// Whether `c` is listed.
    pub fn keep(&self, c: &Container) -> bool {
        let f = self.filters;
        if f.contains("id") && !f.get("id").any(|v| c.id.starts_with(v)) {
            return false;
        }
        if f.contains("name") && !f.get("name").any(|v| c.name.contains(v.trim_start_matches('/'))) {
            return false;
        }
        let labels = c.config.labels.clone().unwrap_or_default();
        if !f.match_labels("label", |k| labels.get(k).map(String::as_str)) {
            return false;
        }
        if !f.exact_match("status", c.state.status.as_str()) {
            return false;
        }
        if !self.exited.is_empty() && (c.state.status != Status::Exited || !self.exited.contains(&c.state.exit_code)) {
            return false;
        }
        if self.before.is_some_and(|b| c.created >= b) || self.since.is_some_and(|s| c.created <= s) {
            return false;
        }
        if let Some(ids) = &self.ancestors {
            if !ids.contains(&c.image_id) && !f.get("ancestor").any(|a| a == c.config.image) {
                return false;
            }
        }
        let health = c.state.health.as_ref().map_or("none", |h| h.status.as_str());
        if !f.exact_match("health", health) {
            return false;
        }
        if f.contains("is-task") && f.get("is-task").any(|v| v == "true") {
            return false;
        }
        if f.contains("volume") {
            // dockerd: a mount's volume name (a bind's source) or its destination.
            let hit = f.get("volume").any(|v| {
                c.mounts.iter().any(|m| {
                    let key = if m.name.is_empty() { &m.source } else { &m.name };
                    m.destination == v || key == v
                })
            });
            if !hit {
                return false;
            }
        }
        if f.contains("network") {
            let mode = c.host_config.network_mode.as_str();
            let mut nets: Vec<&str> = vec![if mode.is_empty() || mode == "default" { "bridge" } else { mode }];
            nets.extend(c.networking.keys().map(|k| if k == "default" { "bridge" } else { k.as_str() }));
            if !f.get("network").any(|v| nets.contains(&v)) {
                return false;
            }
        }
        if f.contains("publish") || f.contains("expose") {
            let (published, exposed) = ports_of(c);
            if f.contains("publish") && !f.get("publish").any(|v| port_matches(v, &published)) {
                return false;
            }
            if f.contains("expose") && !f.get("expose").any(|v| port_matches(v, &exposed)) {
                return false;
            }
        }
        true
    }
}

/// A port and its protocol.
type PortProto = (u16, String);

/// The published (host) and exposed (container) ports of `c`.
fn ports_of(c: &Container) -> (Vec<PortProto>, Vec<PortProto>) {
    let mut published = Vec::new();
    let mut exposed = Vec::new();
    let split = |k: &str| {
        let (p, proto) = k.split_once('/').unwrap_or((k, "tcp"));
        p.parse::<u16>().ok().map(|p| (p, proto.to_string()))
    };
    if let Some(b) = c.host_config.extra.get("PortBindings").and_then(|v| v.as_object()) {
        for (k, list) in b {
            let Some((port, proto)) = split(k) else { continue };
            exposed.push((port, proto.clone()));
            for h in list.as_array().into_iter().flatten() {
                if let Some(hp) = h.get("HostPort").and_then(|v| v.as_str()).and_then(|v| v.parse::<u16>().ok()) {
                    published.push((hp, proto.clone()));
                }
            }
        }
    }
    for k in c.config.exposed_ports.as_ref().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
        if let Some(p) = split(&k) {
            exposed.push(p);
        }
    }
    (published, exposed)
}

/// Docker's `publish`/`expose` filter value: `80`, `80/udp`, `8000-8080/tcp`.
fn port_matches(v: &str, ports: &[PortProto]) -> bool {
    let (range, proto) = v.split_once('/').unwrap_or((v, "tcp"));
    let (lo, hi) = match range.split_once('-') {
        Some((a, b)) => (a.parse::<u16>().unwrap_or(1), b.parse::<u16>().unwrap_or(0)),
        None => {
            let p = range.parse::<u16>().unwrap_or(0);
            (p, p)
        }
    };
    ports.iter().any(|(p, pr)| *p >= lo && *p <= hi && pr == proto)
}
