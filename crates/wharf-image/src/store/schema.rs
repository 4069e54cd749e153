//! The image tables, as `wharf-store` migrations owned by this crate.
//!
//! ```text
//! images (id PK = config digest) ─┬─< image_layers (image_id, idx) >── layers (chain_id PK)
//!                                 └─< image_names (name PK: full reference)      │ parent ─┘
//! ```
//! - `layers` is one row per unpacked layer stack, named by chain ID; the committed snapshot of
//!   the same name holds its files, the blob `blob_digest` its tar (as it came: compressed or
//!   not). A layer row exists only while an image uses it (removed in the same transaction as
//!   its last image).
//! - `image_names` maps full references (`docker.io/library/busybox:latest`,
//!   `…/busybox@sha256:…`) to images; `kind` is `tag` or `digest`.
//! - GC roots: every `images.id` and `images.manifest_digest`, every `layers.blob_digest`.

use wharf_store::Migration;

/// This crate's component name in the migrations table.
pub const COMPONENT: &str = "wharf-image";

/// The migrations of the image tables, in order.
pub const MIGRATIONS: &[Migration] = &[Migration {
    component: COMPONENT,
    version: 1,
    sql: "
CREATE TABLE images (
    id              TEXT PRIMARY KEY,
    config_size     INTEGER NOT NULL,
    manifest_digest TEXT,
    parent          TEXT NOT NULL DEFAULT '',
    added_at        INTEGER NOT NULL,
    last_tag_time   INTEGER
);
CREATE TABLE layers (
    chain_id    TEXT PRIMARY KEY,
    diff_id     TEXT NOT NULL,
    parent      TEXT REFERENCES layers(chain_id),
    size        INTEGER NOT NULL,
    tar_size    INTEGER NOT NULL,
    blob_digest TEXT NOT NULL,
    blob_size   INTEGER NOT NULL,
    media_type  TEXT NOT NULL
);
CREATE INDEX layers_diff_id ON layers(diff_id);
CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    chain_id TEXT NOT NULL REFERENCES layers(chain_id),
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX image_layers_chain ON image_layers(chain_id);
CREATE TABLE image_names (
    name       TEXT PRIMARY KEY,
    image_id   TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('tag', 'digest')),
    created_at INTEGER NOT NULL
);
CREATE INDEX image_names_image ON image_names(image_id);
",
}];
