//! The event message as `GET /events` streams it, including the pre-1.22 fields (`status`,
//! `id`, `from`) that Docker still sends for container and image events and that old clients
//! read. bollard-stubs' `EventMessage` lacks them.

use std::collections::BTreeMap;

/// The object an event is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventActorWire {
    /// Object id.
    #[serde(rename = "ID")]
    pub id: String,
    /// Object attributes.
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// One event on the wire.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventMessageWire {
    /// Deprecated: the action, for container and image events.
    #[serde(rename = "status", skip_serializing_if = "Option::is_none", default)]
    pub status: Option<String>,
    /// Deprecated: the actor id, for container and image events.
    #[serde(rename = "id", skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// Deprecated: the image, for container events.
    #[serde(rename = "from", skip_serializing_if = "Option::is_none", default)]
    pub from: Option<String>,
    /// Object type.
    #[serde(rename = "Type")]
    pub typ: String,
    /// What happened.
    #[serde(rename = "Action")]
    pub action: String,
    /// The object.
    #[serde(rename = "Actor")]
    pub actor: EventActorWire,
    /// `local` or `swarm`.
    #[serde(rename = "scope")]
    pub scope: String,
    /// Seconds since the epoch.
    #[serde(rename = "time")]
    pub time: i64,
    /// Nanoseconds since the epoch.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}
