//! `docker save`: the images named, as a docker-archive with an OCI layout (what Docker 25+
//! writes), streamed from the content store. Layers are stored as they came (maybe
//! compressed); the archive carries them uncompressed, decompressed on the fly.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use super::{db_err, ImageStore};
use crate::archive::{write_archive, BlobSource, SaveImage};
use crate::error::{ImageError, Result};
use crate::model::Compression;
use crate::reference::{short_id_hex, ImageRef};
use crate::Digest;

struct StoreSource<'a> {
    store: &'a ImageStore,
}

impl BlobSource for StoreSource<'_> {
    fn open(&self, digest: &Digest) -> Result<(u64, Box<dyn Read + '_>)> {
        let key = digest.to_string();
        let layer = self.store.db.read(|tx| {
            tx.query_row("SELECT blob_digest, tar_size FROM layers WHERE diff_id = ?1 LIMIT 1", [&key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map(Some)
            .or_else(|e| match e {
                wharf_store::rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(db_err(e)),
            })
        })?;
        let (blob, size) = match layer {
            Some((blob, size)) => (blob, Some(size)),
            None => (key, None),
        };
        let wd: wharf_types::Digest = blob.parse().map_err(ImageError::storage)?;
        let file = self.store.blobs.open_blob(&wd).map_err(|e| match e {
            wharf_store::StoreError::BlobNotFound { .. } => ImageError::BlobNotFound(digest.clone()),
            e => ImageError::storage(e),
        })?;
        let len = file.metadata().map_err(|e| ImageError::io("stat blob", e))?.len();
        let mut buffered = std::io::BufReader::with_capacity(256 * 1024, file);
        let head = std::io::BufRead::fill_buf(&mut buffered).map_err(|e| ImageError::io("read blob", e))?;
        let reader: Box<dyn Read> = match Compression::sniff(head) {
            Compression::None => Box::new(buffered),
            Compression::Gzip if size.is_some() => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd if size.is_some() => {
                Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(|e| ImageError::io("zstd", e))?)
            }
            // Not a layer (a config): served as stored.
            _ => Box::new(buffered),
        };
        let size = match size {
            Some(s) if s > 0 => s,
            _ => len,
        };
        Ok((size, reader))
    }
}

impl ImageStore {
    /// Resolves `names` as `docker save` does: a tagged or bare name records that tag, a
    /// repository name alone records all its tags, an ID records none. Unknown names fail
    /// before anything is written.
    pub fn save_plan(&self, names: &[String]) -> Result<Vec<SaveImage>> {
        let mut by_id: BTreeMap<String, SaveImage> = BTreeMap::new();
        let mut order = Vec::new();
        for name in names {
            let id = self.resolve(name)?;
            let layers = self.db.read(|tx| ImageStore::layers_of(tx, &id))?;
            let entry = by_id.entry(id.clone()).or_insert_with(|| {
                order.push(id.clone());
                SaveImage {
                    config_digest: crate::parse_digest(&id).expect("stored ids are digests"),
                    layers: layers.iter().filter_map(|l| crate::parse_digest(&l.diff_id).ok()).collect(),
                    repo_tags: Vec::new(),
                }
            });
            let by_id_name = short_id_hex(name).is_some_and(|h| id.contains(h));
            if by_id_name {
                continue;
            }
            if let Ok(r) = ImageRef::parse_normalized(name) {
                if r.digest().is_some() {
                    continue;
                }
                let tagged = if r.tag().is_some() { vec![r] } else { vec![r.with_default_tag()] };
                for t in tagged {
                    if !entry.repo_tags.contains(&t) {
                        entry.repo_tags.push(t);
                    }
                }
            }
        }
        Ok(order.into_iter().filter_map(|id| by_id.remove(&id)).collect())
    }

    /// Writes the archive of `plan` to `out`.
    pub fn save<W: Write>(&self, plan: &[SaveImage], out: W) -> Result<W> {
        let w = write_archive(plan, &StoreSource { store: self }, out)?;
        for img in plan {
            let name = img.repo_tags.first().map(|r| r.familiar());
            self.publish("save", img.config_digest.as_ref(), name.as_deref());
        }
        Ok(w)
    }
}
