//! The metadata database: one SQLite file in WAL mode with `synchronous=FULL` and foreign keys,
//! schema migrations owned by the domain crates, and transactions ([`Db::tx`], [`Db::read`]).
//!
//! # Schema
//!
//! The store owns only its bookkeeping and the lease tables (component `wharf-store`). Every other
//! table belongs to the domain crate whose [`Migration`]s create it; each such crate draws its own
//! tables in its module doc. Update this drawing with each migration of `wharf-store`.
//!
//! ```text
//!  migrations                         (bootstrap, created before any migration)
//!  +----------------------------+
//!  | component  TEXT     PK     |  "wharf-store", "wharf-image", ...
//!  | version    INTEGER  PK     |  1, 2, 3 ... applied in order, once
//!  | applied_at INTEGER         |  Unix nanoseconds
//!  +----------------------------+
//!
//!  leases                             (wharf-store v1)
//!  +----------------------------+
//!  | id         TEXT     PK     |<-----+
//!  | created_at INTEGER         |      |  ON DELETE CASCADE
//!  | expires_at INTEGER NULL    |      |  NULL: until deleted
//!  +----------------------------+      |
//!                                      |
//!  lease_resources                    (wharf-store v1)
//!  +----------------------------+      |
//!  | lease_id   TEXT     PK FK  |------+
//!  | kind       TEXT     PK     |  "blob", "snapshot", "image", ...
//!  | key        TEXT     PK     |  a digest for "blob"; the owner's key otherwise
//!  +----------------------------+
//!    index lease_resources_kind_key (kind, key)
//! ```
//!
//! # Threading model
//!
//! [`Db`] is a cheap handle (`Clone`, `Send`, `Sync`) over two connections:
//! - the **writer**, behind a `Mutex`: [`Db::tx`] locks it and runs the closure in a
//!   `BEGIN IMMEDIATE` transaction, so write transactions are serialized in this process and
//!   SQLite's write lock is taken up front (no deadlock-prone lock upgrade);
//! - the **reader**, behind its own `Mutex` and `query_only`: [`Db::read`] runs the closure in a
//!   deferred transaction, a consistent snapshot that WAL lets proceed while a write transaction
//!   is open.
//!
//! Every method blocks. Async code calls them through `tokio::task::spawn_blocking` with a clone
//! of the handle. The mutexes are not reentrant: never call `Db::tx` (or any method of this crate
//! that writes, e.g. [`crate::Leases`] or [`crate::BlobWriter::commit`]) from inside a `Db::tx`
//! closure; use the `&Tx` functions of [`crate::lease`] there instead. The writer lock is also the
//! blob store's garbage-collection lock (see [`crate::blob`]).
//!
//! A closure that panics or returns `Err` rolls its transaction back; a poisoned mutex is
//! recovered (the transaction it guarded was rolled back when it was dropped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use wharf_types::Timestamp;

use crate::error::{Result, StoreError};

/// A transaction, as the closures of [`Db::tx`] and [`Db::read`] get it.
pub type Tx<'conn> = rusqlite::Transaction<'conn>;

/// How long a connection waits for SQLite's lock before failing with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The component name of this crate's own migrations.
pub const STORE_COMPONENT: &str = "wharf-store";

/// One schema step of a component: applied once, in order, in its own transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The owning crate (`wharf-image`); versions are counted per component.
    pub component: &'static str,
    /// 1, 2, 3…: each component's migrations are listed in order, without gaps.
    pub version: u32,
    /// SQL run with `execute_batch` inside the transaction (no `PRAGMA foreign_keys`, no
    /// `BEGIN`/`COMMIT`).
    pub sql: &'static str,
}

/// This crate's own migrations, applied before the domain ones.
const STORE_MIGRATIONS: &[Migration] = &[Migration {
    component: STORE_COMPONENT,
    version: 1,
    sql: "
        CREATE TABLE leases (
            id         TEXT    NOT NULL PRIMARY KEY,
            created_at INTEGER NOT NULL,
            expires_at INTEGER
        ) STRICT;
        CREATE TABLE lease_resources (
            lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
            kind     TEXT NOT NULL,
            key      TEXT NOT NULL,
            PRIMARY KEY (lease_id, kind, key)
        ) STRICT;
        CREATE INDEX lease_resources_kind_key ON lease_resources(kind, key);
    ",
}];

const BOOTSTRAP: &str = "
    CREATE TABLE IF NOT EXISTS migrations (
        component  TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        applied_at INTEGER NOT NULL,
        PRIMARY KEY (component, version)
    ) STRICT;
";

/// The metadata database. See the module doc for the threading model.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (creating if needed, mode 0600) the database at `path`, whose directory must exist,
    /// and applies this crate's migrations and then `migrations`, each once. Refuses a database
    /// whose schema of a listed component is newer than `migrations` know.
    pub fn open(path: &Path, migrations: &[Migration]) -> Result<Db> {
        let all: Vec<Migration> = STORE_MIGRATIONS.iter().chain(migrations).copied().collect();
        let known = validate(&all)?;
        let mut writer = connect(path)?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(StoreError::io("chmod", path))?;
        }
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(StoreError::sqlite("set journal_mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite {
                context: "set journal_mode=WAL",
                source: rusqlite::Error::InvalidParameterName(format!("journal_mode is {mode}")),
            });
        }
        writer.execute_batch(BOOTSTRAP).map_err(StoreError::sqlite("create migrations table"))?;
        migrate(&mut writer, &all, &known)?;
        let reader = connect(path)?;
        reader.pragma_update(None, "query_only", true).map_err(StoreError::sqlite("set query_only"))?;
        Ok(Db {
            inner: Arc::new(Inner { path: path.to_path_buf(), writer: Mutex::new(writer), reader: Mutex::new(reader) }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in an IMMEDIATE transaction on the writer connection: commits if it returns
    /// `Ok`, rolls back if it returns `Err` or panics.
    pub fn tx<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = lock(&self.inner.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite("begin transaction"))?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::sqlite("commit"))?;
        Ok(value)
    }

    /// Runs `f` in a read-only snapshot on the reader connection; it may run while a write
    /// transaction is open and sees only committed data.
    pub fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = lock(&self.inner.reader);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(StoreError::sqlite("begin read transaction"))?;
        let value = f(&tx)?;
        // A read transaction has nothing to commit; ending it releases the snapshot.
        tx.rollback().map_err(StoreError::sqlite("end read transaction"))?;
        Ok(value)
    }

    /// The highest applied migration of `component` (0 if none).
    pub fn schema_version(&self, component: &str) -> Result<u32> {
        self.read(|tx| applied_version(tx, component))
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(StoreError::sqlite("open"))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(StoreError::sqlite("set busy_timeout"))?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(StoreError::sqlite("set synchronous"))?;
    conn.pragma_update(None, "foreign_keys", true).map_err(StoreError::sqlite("set foreign_keys"))?;
    Ok(conn)
}

/// Checks that each component's migrations are 1, 2, 3… in slice order; returns the highest
/// version per component.
fn validate(all: &[Migration]) -> Result<BTreeMap<&'static str, u32>> {
    let mut known: BTreeMap<&'static str, u32> = BTreeMap::new();
    for (i, m) in all.iter().enumerate() {
        if m.component.is_empty() {
            return Err(StoreError::InvalidMigrations {
                component: m.component,
                reason: "empty component name".into(),
            });
        }
        if m.component == STORE_COMPONENT && i >= STORE_MIGRATIONS.len() {
            return Err(StoreError::InvalidMigrations {
                component: m.component,
                reason: "this component name is reserved for the store itself".into(),
            });
        }
        let last = known.entry(m.component).or_insert(0);
        if m.version != *last + 1 {
            return Err(StoreError::InvalidMigrations {
                component: m.component,
                reason: format!("version {} follows version {}; expected {}", m.version, last, *last + 1),
            });
        }
        *last = m.version;
    }
    Ok(known)
}

fn applied_version(conn: &Connection, component: &str) -> Result<u32> {
    conn.query_row("SELECT MAX(version) FROM migrations WHERE component = ?1", [component], |row| {
        row.get::<_, Option<u32>>(0)
    })
    .optional()
    .map(|v| v.flatten().unwrap_or(0))
    .map_err(StoreError::sqlite("read schema version"))
}

fn migrate(conn: &mut Connection, all: &[Migration], known: &BTreeMap<&'static str, u32>) -> Result<()> {
    for (&component, &highest) in known {
        let found = applied_version(conn, component)?;
        if found > highest {
            return Err(StoreError::SchemaTooNew { component: component.to_string(), found, known: highest });
        }
    }
    for m in all {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite("begin migration"))?;
        if applied_version(&tx, m.component)? >= m.version {
            continue;
        }
        let failed = |source| StoreError::Migration { component: m.component, version: m.version, source };
        tx.execute_batch(m.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO migrations (component, version, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.component, m.version, now_nanos()],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::debug!(component = m.component, version = m.version, "applied migration");
    }
    Ok(())
}

/// The current time in Unix nanoseconds, the unit of every time column of this crate.
pub fn now_nanos() -> Timestamp {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEMS: &[Migration] = &[
        Migration { component: "items", version: 1, sql: "CREATE TABLE items (id TEXT PRIMARY KEY) STRICT;" },
        Migration { component: "items", version: 2, sql: "ALTER TABLE items ADD COLUMN size INTEGER;" },
    ];

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn open_sets_pragmas() {
        let d = dir();
        let db = Db::open(&d.path().join("meta.db"), &[]).expect("open");
        let (mode, sync, fk): (String, i64, i64) = db
            .tx(|tx| -> Result<_> {
                let q = |p: &str| format!("PRAGMA {p}");
                let mode = tx.query_row(&q("journal_mode"), [], |r| r.get(0)).map_err(StoreError::sqlite("q"))?;
                let sync = tx.query_row(&q("synchronous"), [], |r| r.get(0)).map_err(StoreError::sqlite("q"))?;
                let fk = tx.query_row(&q("foreign_keys"), [], |r| r.get(0)).map_err(StoreError::sqlite("q"))?;
                Ok((mode, sync, fk))
            })
            .expect("pragmas");
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
        assert_eq!(fk, 1);
        assert_eq!(db.schema_version(STORE_COMPONENT).expect("version"), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db.path()).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn migrations_apply_once_and_in_order() {
        let d = dir();
        let path = d.path().join("meta.db");
        let db = Db::open(&path, &ITEMS[..1]).expect("open v1");
        assert_eq!(db.schema_version("items").expect("v"), 1);
        db.tx(|tx| tx.execute("INSERT INTO items (id) VALUES ('a')", []).map_err(StoreError::sqlite("insert")))
            .expect("insert");
        drop(db);
        // Reopening with one more migration applies only that one and keeps the data.
        let db = Db::open(&path, ITEMS).expect("open v2");
        assert_eq!(db.schema_version("items").expect("v"), 2);
        let n: i64 = db
            .read(|tx| {
                tx.query_row("SELECT COUNT(*) FROM items WHERE size IS NULL", [], |r| r.get(0))
                    .map_err(StoreError::sqlite("count"))
            })
            .expect("count");
        assert_eq!(n, 1);
        drop(db);
        let db = Db::open(&path, ITEMS).expect("open again");
        let rows: i64 = db
            .read(|tx| {
                tx.query_row("SELECT COUNT(*) FROM migrations WHERE component = 'items'", [], |r| r.get(0))
                    .map_err(StoreError::sqlite("count"))
            })
            .expect("count");
        assert_eq!(rows, 2);
    }

    #[test]
    fn refuses_newer_schema_and_bad_sequences() {
        let d = dir();
        let path = d.path().join("meta.db");
        drop(Db::open(&path, ITEMS).expect("open"));
        let err = Db::open(&path, &ITEMS[..1]).expect_err("downgrade");
        assert!(matches!(err, StoreError::SchemaTooNew { found: 2, known: 1, .. }), "{err}");

        let gap = [ITEMS[1]];
        assert!(matches!(Db::open(&path, &gap), Err(StoreError::InvalidMigrations { .. })));
        let reserved = [Migration { component: STORE_COMPONENT, version: 2, sql: "" }];
        assert!(matches!(Db::open(&path, &reserved), Err(StoreError::InvalidMigrations { .. })));
    }

    #[test]
    fn failed_migration_rolls_back() {
        let d = dir();
        let path = d.path().join("meta.db");
        let bad = [Migration {
            component: "bad",
            version: 1,
            sql: "CREATE TABLE t (x INTEGER); INSERT INTO nope VALUES (1);",
        }];
        let err = Db::open(&path, &bad).expect_err("fails");
        assert!(matches!(err, StoreError::Migration { component: "bad", version: 1, .. }), "{err}");
        let db = Db::open(&path, &[]).expect("open");
        assert_eq!(db.schema_version("bad").expect("v"), 0);
        let tables: i64 = db
            .read(|tx| {
                tx.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'", [], |r| r.get(0))
                    .map_err(StoreError::sqlite("count"))
            })
            .expect("count");
        assert_eq!(tables, 0, "the half-applied migration left a table");
    }

    #[test]
    fn tx_commits_or_rolls_back() {
        let d = dir();
        let db = Db::open(&d.path().join("meta.db"), ITEMS).expect("open");
        let insert = |tx: &Tx<'_>, id: &str| {
            tx.execute("INSERT INTO items (id) VALUES (?1)", [id]).map_err(StoreError::sqlite("insert"))
        };
        db.tx(|tx| insert(tx, "kept")).expect("commit");
        let err = db
            .tx(|tx| -> Result<()> {
                insert(tx, "dropped")?;
                Err(StoreError::LeaseNotFound { id: "x".into() })
            })
            .expect_err("rollback");
        assert!(matches!(err, StoreError::LeaseNotFound { .. }));
        // A panicking closure rolls back too, and the handle stays usable.
        let db2 = db.clone();
        let joined = std::thread::spawn(move || {
            db2.tx(|tx| -> Result<()> {
                insert(tx, "panicked")?;
                panic!("boom");
            })
        })
        .join();
        assert!(joined.is_err());
        let ids: Vec<String> = db
            .read(|tx| {
                let mut st = tx.prepare("SELECT id FROM items ORDER BY id").map_err(StoreError::sqlite("prepare"))?;
                let rows = st.query_map([], |r| r.get(0)).map_err(StoreError::sqlite("query"))?;
                rows.collect::<rusqlite::Result<Vec<String>>>().map_err(StoreError::sqlite("rows"))
            })
            .expect("read");
        assert_eq!(ids, ["kept"]);
    }

    #[test]
    fn read_runs_while_a_write_is_open_and_is_read_only() {
        let d = dir();
        let db = Db::open(&d.path().join("meta.db"), ITEMS).expect("open");
        db.tx(|tx| -> Result<()> {
            tx.execute("INSERT INTO items (id) VALUES ('a')", []).map_err(StoreError::sqlite("insert"))?;
            // Uncommitted: the reader does not see it, and is not blocked.
            let n: i64 = db.read(|r| {
                r.query_row("SELECT COUNT(*) FROM items", [], |row| row.get(0)).map_err(StoreError::sqlite("count"))
            })?;
            assert_eq!(n, 0);
            Ok(())
        })
        .expect("tx");
        let err = db
            .read(|r| r.execute("INSERT INTO items (id) VALUES ('b')", []).map_err(StoreError::sqlite("insert")))
            .expect_err("query_only");
        assert!(matches!(err, StoreError::Sqlite { .. }));
    }
}
