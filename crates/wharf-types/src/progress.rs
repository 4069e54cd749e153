//! Progress of a long operation (load, import, pull, push, build), as the domain reports it.
//! The API layer renders it as Docker's JSON message stream (`{"status":…,"progressDetail":…}`,
//! `{"stream":…}`, `{"errorDetail":…}`); the domain never sees that wire shape.

/// One progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A step on an item, e.g. `Loading layer` on a layer's short id, with bytes done of a total
    /// (`current`/`total`; `total` 0 when unknown). `id` may be empty for a general status line.
    Status {
        /// The item (a short layer id, an image reference), or empty.
        id: String,
        /// What is happening (`Loading layer`, `Downloading`, `Pull complete`…).
        status: String,
        /// Bytes done, when counted.
        current: Option<u64>,
        /// Bytes in all, when known.
        total: Option<u64>,
    },
    /// A line of text for the user, newline included (`Loaded image: busybox:latest\n`).
    Stream(String),
    /// A result the client may read by machine, e.g. `{"ID":"sha256:…"}` (Docker's `aux`).
    Aux(String),
    /// The operation failed; nothing follows.
    Error(String),
}

impl Progress {
    /// A status line without byte counts.
    pub fn status(id: impl Into<String>, status: impl Into<String>) -> Progress {
        Progress::Status { id: id.into(), status: status.into(), current: None, total: None }
    }
}
