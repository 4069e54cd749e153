//! The image store: images, their names and layers in the metadata database, their blobs in the
//! content store, their layers unpacked into snapshots; and the operations `docker images`,
//! `inspect`, `tag`, `rmi`, `history`, `prune`, `load`, `save` and `import` need.

mod types;

pub use types::{DeleteItem, GraphDriver, ImageInfo, ImportOptions, ListOptions, PruneReport};
