//! The step cache: (parent image ID, step key) → the image the step made, kept in the daemon's
//! database (`build_cache`, a `wharf-store` migration owned here) so it survives restarts; a
//! row goes with its image (`ON DELETE CASCADE`), and a hit is used only while the image
//! exists. Without a database (tests), an in-memory map.
//!
//! ```text
//! build_cache (parent, step_key) PK ── image_id >── images(id) ON DELETE CASCADE
//! ```

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};
use wharf_store::{Db, Migration, StoreError};

/// This crate's component name in the migrations table.
pub const COMPONENT: &str = "wharf-build";

/// The migrations of the cache table, in order (after `wharf-image`'s: it references `images`).
pub const MIGRATIONS: &[Migration] = &[Migration {
    component: COMPONENT,
    version: 1,
    sql: "
CREATE TABLE build_cache (
    parent   TEXT NOT NULL,
    step_key TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    PRIMARY KEY (parent, step_key)
);
CREATE INDEX build_cache_image ON build_cache(image_id);
",
}];

/// Where cache entries live.
pub(crate) enum Cache {
    Db(Db),
    Memory(Mutex<HashMap<(String, String), String>>),
}

fn sqlite(e: wharf_store::rusqlite::Error) -> StoreError {
    StoreError::sqlite("build cache")(e)
}

/// Keys are hashed: a step key holds a whole config.
fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Cache {
    /// The image cached for (parent, key), if any (existence is the caller's check).
    pub(crate) fn get(&self, parent: &str, key: &str) -> Option<String> {
        match self {
            Cache::Memory(m) => {
                m.lock().unwrap_or_else(|e| e.into_inner()).get(&(parent.to_string(), key.to_string())).cloned()
            }
            Cache::Db(db) => db
                .read(|tx| {
                    let mut st = tx
                        .prepare("SELECT image_id FROM build_cache WHERE parent = ?1 AND step_key = ?2")
                        .map_err(sqlite)?;
                    let mut rows =
                        st.query_map([parent, hash(key).as_str()], |r| r.get::<_, String>(0)).map_err(sqlite)?;
                    Ok::<_, StoreError>(rows.next().and_then(Result::ok))
                })
                .ok()
                .flatten(),
        }
    }

    /// Records (parent, key) → image; a failure only loses the entry.
    pub(crate) fn put(&self, parent: &str, key: &str, image: &str) {
        match self {
            Cache::Memory(m) => {
                m.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((parent.to_string(), key.to_string()), image.to_string());
            }
            Cache::Db(db) => {
                let _ = db.tx(|tx| {
                    tx.execute(
                        "INSERT OR REPLACE INTO build_cache (parent, step_key, image_id) \
                         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM images WHERE id = ?3)",
                        [parent, hash(key).as_str(), image],
                    )
                    .map_err(sqlite)?;
                    Ok::<_, StoreError>(())
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cache() {
        let c = Cache::Memory(Mutex::new(HashMap::new()));
        assert_eq!(c.get("p", "k"), None);
        c.put("p", "k", "sha256:1");
        assert_eq!(c.get("p", "k").as_deref(), Some("sha256:1"));
    }

    #[test]
    fn db_cache_follows_images() {
        let d = tempfile::tempdir().unwrap();
        let images =
            Migration { component: "wharf-image", version: 1, sql: "CREATE TABLE images (id TEXT PRIMARY KEY);" };
        let all = [images, MIGRATIONS[0]];
        let db = Db::open(&d.path().join("db"), &all).unwrap();
        let c = Cache::Db(db.clone());
        c.put("p", "k", "sha256:1");
        assert_eq!(c.get("p", "k"), None, "no row for an image that does not exist");
        db.tx(|tx| tx.execute("INSERT INTO images (id) VALUES ('sha256:1')", []).map_err(sqlite)).unwrap();
        c.put("p", "k", "sha256:1");
        assert_eq!(c.get("p", "k").as_deref(), Some("sha256:1"));
        db.tx(|tx| tx.execute("DELETE FROM images", []).map_err(sqlite)).unwrap();
        assert_eq!(c.get("p", "k"), None, "the row goes with its image");
    }
}
