//! Events as published on the daemon's event bus and streamed by `GET /events`.

use std::collections::BTreeMap;

/// The kind of object an event is about, as Docker names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A volume.
    Volume,
    /// A network.
    Network,
    /// The daemon itself.
    Daemon,
    /// A plugin.
    Plugin,
    /// A swarm node.
    Node,
    /// A swarm service.
    Service,
    /// A swarm secret.
    Secret,
    /// A swarm config.
    Config,
    /// The builder.
    Builder,
}

impl EventType {
    /// The name used on the wire and in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Container => "container",
            EventType::Image => "image",
            EventType::Volume => "volume",
            EventType::Network => "network",
            EventType::Daemon => "daemon",
            EventType::Plugin => "plugin",
            EventType::Node => "node",
            EventType::Service => "service",
            EventType::Secret => "secret",
            EventType::Config => "config",
            EventType::Builder => "builder",
        }
    }
}

/// Whether an event concerns this daemon only or the whole swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// This daemon.
    #[default]
    Local,
    /// The swarm.
    Swarm,
}

impl Scope {
    /// The name used on the wire and in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Local => "local",
            Scope::Swarm => "swarm",
        }
    }
}

/// One event: something happened to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What kind of object.
    pub typ: EventType,
    /// What happened (`create`, `start`, `reload`, `exec_start: sh`…).
    pub action: String,
    /// The object's id (or name where the object has no id).
    pub actor_id: String,
    /// Extra facts: `name`, `image`, labels…
    pub attributes: BTreeMap<String, String>,
    /// Local or swarm.
    pub scope: Scope,
    /// Nanoseconds since the Unix epoch.
    pub time_nano: i64,
}

impl Event {
    /// A local event stamped with `time_nano`.
    pub fn new(typ: EventType, action: impl Into<String>, actor_id: impl Into<String>, time_nano: i64) -> Self {
        Event {
            typ,
            action: action.into(),
            actor_id: actor_id.into(),
            attributes: BTreeMap::new(),
            scope: Scope::Local,
            time_nano,
        }
    }

    /// Adds one attribute.
    pub fn with_attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}
