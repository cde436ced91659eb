//! Persistence: the only module that names redb.
//!
//! One redb file per data directory. Callers see typed operations only: a [`ReadTxn`]
//! (a snapshot: records, monitor views and counts, configuration, run and assignment
//! history) and, inside a write job, a [`WriteTxn`] (configuration items, rules, and
//! [`RecordBatch`]es: records with their counters, turns, history and run). Tables and
//! row formats are private to this module.
//!
//! Every write goes through [`writer`], one thread that groups concurrent write jobs into
//! a single durable transaction (group commit). A job's result is handed back only after
//! its transaction committed with `Durability::Immediate`, so a 2xx built on it survives
//! kill -9.

mod batch;
mod codec;
mod error;
mod events;
mod history;
mod keys;
mod records;
mod runs;
mod tables;
mod txn;
mod webhooks;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{ReadableTable, WriteTransaction};

pub use batch::{RecordBatch, RunRow};
pub use error::StoreError;
pub use history::entry_seq;
pub use records::{RecordReader, RecordRow, Scope, decode_record};
pub use txn::{Collection, ReadTxn, RuleTurn, Sequences, WriteTxn};
pub use writer::WriterStats;

/// Upper bounds of the group-commit batch-size histogram.
pub fn writer_batch_buckets() -> &'static [u64] {
    &writer::BATCH_BUCKETS
}

/// Bumped whenever the layout of a table or value changes incompatibly.
/// 2: compact rows for records, history and counters; the owner index of assignment
/// history is bucketed; runs in progress (`runs_open`).
pub const SCHEMA_VERSION: u64 = 2;
const DB_FILE: &str = "allot.redb";
/// redb page cache: 128 MiB keeps a million-record store well under the 500 MiB resident
/// bar (the OS page cache is under it anyway); a larger one did not speed up ingest
/// without slowing ingest (docs/perf-notes.md).
pub const DEFAULT_CACHE_BYTES: usize = 128 << 20;

/// Handle to the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<redb::Database>,
    writer: writer::WriterHandle,
    path: PathBuf,
    /// The id of the last committed event, for the feed's long polls.
    events: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Store {
    /// Opens (or creates) `dir/allot.redb`, creates every table, writes the schema
    /// version on creation and refuses a file of another version.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with redb's page cache bounded to `cache_bytes` (redb's own
    /// default is 1 GiB, which a large data file fills: resident memory follows it).
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen(path.clone()),
                other => StoreError::from(other),
            })?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(tables::META)?;
            let found = meta.get("schema_version")?.map(|v| v.value());
            match found {
                Some(v) if v != SCHEMA_VERSION => {
                    return Err(StoreError::SchemaMismatch {
                        found: v,
                        expected: SCHEMA_VERSION,
                    });
                }
                Some(_) => {}
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)?;
                }
            }
        }
        create_tables(&txn)?;
        txn.commit()?;
        let db = Arc::new(db);
        let last_event = ReadTxn::begin(&db)?.last_event_id()?;
        let events = Arc::new(tokio::sync::watch::Sender::new(last_event));
        let writer = writer::spawn(db.clone(), events.clone());
        Ok(Store {
            db,
            writer,
            path,
            events,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read(&self) -> Result<ReadTxn, StoreError> {
        ReadTxn::begin(&self.db)
    }

    /// Runs `job` inside the next group-commit transaction and answers its result once
    /// that transaction is durable. A job that returns `Err` has its writes rolled back
    /// (the group is redone without it); it must not have side effects outside the
    /// transaction, since it may run twice.
    ///
    /// The job is queued when `write` is called, not when the future is first polled.
    pub fn write<T, E, F>(&self, job: F) -> impl std::future::Future<Output = Result<T, E>> + Send + 'static
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&WriteTxn) -> Result<T, E> + Send + 'static,
    {
        self.writer.submit(None, as_job(job))
    }

    /// Queues `job` now, in chain epoch `epoch`, and answers a future of its result (see
    /// the writer's chains): a later chained job commits only if every earlier one of
    /// its epoch did.
    pub fn write_chained<T, E, F>(
        &self,
        epoch: u64,
        job: F,
    ) -> impl std::future::Future<Output = Result<T, E>> + Send + 'static
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&WriteTxn) -> Result<T, E> + Send + 'static,
    {
        self.writer.submit(Some(epoch), as_job(job))
    }

    /// Queues `job` now (in chain `epoch`, if given) and calls `done` from the writer's
    /// thread once it is settled: for synchronous callers that wait on a channel.
    pub fn write_then<F>(&self, epoch: Option<u64>, job: F, done: impl FnOnce(Result<(), StoreError>) + Send + 'static)
    where
        F: FnMut(&WriteTxn) -> Result<(), StoreError> + Send + 'static,
    {
        self.writer.submit_then(epoch, as_job(job), done)
    }

    /// Waits, blocking the thread, until every chained job queued before is settled.
    pub fn barrier_blocking(&self, epoch: u64) -> Result<(), StoreError> {
        self.writer.barrier_blocking(epoch)
    }

    /// A future ready once every chained job queued before is settled; `ChainBroken`
    /// when one of them failed.
    pub fn barrier(&self, epoch: u64) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static {
        self.writer.submit(Some(epoch), |_| Ok::<(), StoreError>(()))
    }

    /// The id of the last committed event, updated after each commit that wrote events.
    pub fn subscribe_events(&self) -> tokio::sync::watch::Receiver<u64> {
        self.events.subscribe()
    }

    pub fn writer_stats(&self) -> &WriterStats {
        self.writer.stats()
    }

    /// Waits (up to `timeout`) until this is the last handle on the database, so that the
    /// file lock is released when it is dropped: HTTP workers drop theirs asynchronously.
    pub fn wait_released(&self, timeout: std::time::Duration) {
        let until = std::time::Instant::now() + timeout;
        while Arc::strong_count(&self.db) > 1 && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Stops the writer after the jobs already queued; used at shutdown.
    pub fn close(&self) {
        self.writer.close();
    }
}

fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    use tables::*;
    for def in [
        TOKENS,
        SELLERS,
        TEAMS,
        QUEUES,
        SEQUENCES,
        SEGMENTS,
        RULES,
        RECORD_TYPES,
        SETTINGS,
        SCHEDULES,
        SELLER_COUNTERS,
        RECORDS,
        RUNS,
        RUNS_OPEN,
        WEBHOOKS,
        WEBHOOK_STATE,
    ] {
        txn.open_table(def)?;
    }
    txn.open_table(RECORD_VIEWS)?;
    txn.open_table(VIEW_COUNTS)?;
    txn.open_table(RUNS_BY_SEGMENT)?;
    txn.open_table(HISTORY)?;
    txn.open_table(HISTORY_INDEX)?;
    txn.open_table(RULE_ROUND_ROBIN)?;
    txn.open_table(EVENTS)?;
    txn.open_table(DELIVERIES)?;
    Ok(())
}

/// A caller's job as the writer runs it, on the raw transaction.
fn as_job<T, E>(
    mut job: impl FnMut(&WriteTxn) -> Result<T, E> + Send + 'static,
) -> impl FnMut(&WriteTransaction) -> Result<T, E> + Send + 'static {
    move |txn| job(&WriteTxn(txn))
}
