//! The single writer thread: group commit.
//!
//! redb allows one write transaction at a time and its calls block, so every write job
//! is sent here. The thread takes the first waiting job, drains whatever else is queued
//! (up to [`MAX_GROUP`]), runs them all in one transaction and commits once. A job that
//! fails is excluded and the group is redone without it, so one bad job never costs the
//! others their write.
//!
//! *Chained* jobs (the record batches of the record actor, which submits batch
//! k+1 before batch k is durable) carry an epoch. When a chained job fails, or its commit
//! does, every later chained job of the same or an older epoch fails too, with
//! [`StoreError::ChainBroken`], without running: what commits of a chain is always a
//! prefix of what was submitted, so the submitter can resynchronise from the store and
//! go on under a new epoch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use redb::WriteTransaction;
use tokio::sync::oneshot;

use super::StoreError;

const MAX_GROUP: usize = 512;
/// Upper bounds (inclusive) of the batch-size histogram buckets.
pub const BATCH_BUCKETS: [u64; 8] = [1, 2, 4, 8, 16, 32, 64, 512];

type JobFn = Box<dyn FnMut(&WriteTransaction) -> bool + Send>;
type DoneFn = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

struct Job {
    run: JobFn,
    /// The epoch of a chained job.
    chain: Option<u64>,
    done: DoneFn,
}

/// What became of a job in its group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Included,
    /// It returned an error: its own error is in its slot.
    Failed,
    /// An earlier job of its chain failed: it did not run.
    Broken,
}

enum Msg {
    Job(Job),
    Close,
}

/// Counters of the writer, exported in `/metrics`.
#[derive(Default)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
    pub failed_commits: AtomicU64,
    pub commit_micros: AtomicU64,
    pub batch_buckets: [AtomicU64; BATCH_BUCKETS.len()],
}

#[derive(Clone)]
pub(super) struct WriterHandle {
    tx: mpsc::Sender<Msg>,
    stats: Arc<WriterStats>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

pub(super) fn spawn(db: Arc<redb::Database>, events: Arc<tokio::sync::watch::Sender<u64>>) -> WriterHandle {
    let (tx, rx) = mpsc::channel::<Msg>();
    let stats = Arc::new(WriterStats::default());
    let thread_stats = stats.clone();
    let spawned = std::thread::Builder::new()
        .name("allot-writer".into())
        .spawn(move || run(db, rx, thread_stats, events));
    let thread = match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            // Without a writer every write answers `WriterGone`.
            tracing::error!(error = %e, "could not start the store writer thread");
            None
        }
    };
    WriterHandle {
        tx,
        stats,
        thread: Arc::new(Mutex::new(thread)),
    }
}

impl WriterHandle {
    /// Queues `job` at once (so jobs run in the order of the calls, not of the awaits)
    /// and answers a future of its result, ready once its transaction is durable.
    pub(super) fn submit<T, E, F>(
        &self,
        chain: Option<u64>,
        mut job: F,
    ) -> impl std::future::Future<Output = Result<T, E>> + Send + 'static
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, E> + Send + 'static,
    {
        let slot: Arc<Mutex<Option<Result<T, E>>>> = Arc::new(Mutex::new(None));
        let job_slot = slot.clone();
        let run: JobFn = Box::new(move |txn| {
            let result = job(txn);
            let ok = result.is_ok();
            if let Ok(mut s) = job_slot.lock() {
                *s = Some(result);
            }
            ok
        });
        let (done, wait) = oneshot::channel();
        let done: DoneFn = Box::new(move |r| {
            let _ = done.send(r);
        });
        let sent = self.tx.send(Msg::Job(Job { run, chain, done })).is_ok();
        async move {
            if !sent {
                return Err(E::from(StoreError::WriterGone));
            }
            match wait.await {
                Err(_) => Err(E::from(StoreError::WriterGone)),
                Ok(Err(e)) => Err(E::from(e)),
                Ok(Ok(())) => {
                    let taken = slot.lock().ok().and_then(|mut s| s.take());
                    taken.unwrap_or_else(|| Err(E::from(StoreError::WriterGone)))
                }
            }
        }
    }

    /// Queues `job` at once; `done` gets its result, on the writer's thread, once settled.
    pub(super) fn submit_then<F>(
        &self,
        chain: Option<u64>,
        mut job: F,
        done: impl FnOnce(Result<(), StoreError>) + Send + 'static,
    ) where
        F: FnMut(&WriteTransaction) -> Result<(), StoreError> + Send + 'static,
    {
        let slot: Arc<Mutex<Option<StoreError>>> = Arc::new(Mutex::new(None));
        let job_slot = slot.clone();
        let run: JobFn = Box::new(move |txn| match job(txn) {
            Ok(()) => true,
            Err(e) => {
                if let Ok(mut s) = job_slot.lock() {
                    *s = Some(e);
                }
                false
            }
        });
        let done: DoneFn = Box::new(move |r| {
            // A job that failed on its own has its error in the slot.
            let own = slot.lock().ok().and_then(|mut s| s.take());
            done(match (r, own) {
                (Ok(()), Some(e)) => Err(e),
                (r, _) => r,
            })
        });
        if let Err(mpsc::SendError(Msg::Job(job))) = self.tx.send(Msg::Job(Job { run, chain, done })) {
            (job.done)(Err(StoreError::WriterGone));
        }
    }

    /// Blocks the calling thread until every chained job submitted before is settled;
    /// answers `ChainBroken` when one of them failed. For synchronous code (an actor
    /// recovering from a panic), where awaiting is not possible.
    pub(super) fn barrier_blocking(&self, chain: u64) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let done: DoneFn = Box::new(move |r| {
            let _ = tx.send(r);
        });
        let run: JobFn = Box::new(|_| true);
        self.tx
            .send(Msg::Job(Job {
                run,
                chain: Some(chain),
                done,
            }))
            .map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }

    pub(super) fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Commits what is queued, then stops the thread and waits for it.
    pub(super) fn close(&self) {
        let _ = self.tx.send(Msg::Close);
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn run(
    db: Arc<redb::Database>,
    rx: mpsc::Receiver<Msg>,
    stats: Arc<WriterStats>,
    events: Arc<tokio::sync::watch::Sender<u64>>,
) {
    let mut closing = false;
    // Chained jobs of an epoch below this one fail without running.
    let mut min_epoch = 0u64;
    while !closing {
        let first = match rx.recv() {
            Ok(Msg::Job(j)) => j,
            Ok(Msg::Close) | Err(_) => break,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(Msg::Job(j)) => group.push(j),
                Ok(Msg::Close) => {
                    closing = true;
                    break;
                }
                Err(_) => break,
            }
        }
        commit_group(&db, group, &stats, &mut min_epoch, &events);
    }
}

fn commit_group(
    db: &redb::Database,
    group: Vec<Job>,
    stats: &WriterStats,
    min_epoch: &mut u64,
    events: &tokio::sync::watch::Sender<u64>,
) {
    let started = std::time::Instant::now();
    // Chained jobs of an epoch already broken do not run at all.
    let mut jobs: Vec<(Job, Fate)> = group
        .into_iter()
        .map(|j| {
            let fate = if j.chain.is_some_and(|e| e < *min_epoch) {
                Fate::Broken
            } else {
                Fate::Included
            };
            (j, fate)
        })
        .collect();
    // Each pass either commits or excludes at least one more failing job.
    let outcome = loop {
        super::events::reset_last_written();
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => break Err(StoreError::from(e)),
        };
        let mut newly_failed = false;
        for i in 0..jobs.len() {
            let (job, fate) = &mut jobs[i];
            if *fate != Fate::Included || (job.run)(&txn) {
                continue;
            }
            *fate = Fate::Failed;
            newly_failed = true;
            if let Some(e) = job.chain {
                *min_epoch = (*min_epoch).max(e + 1);
                // What comes after it in its chain is refused; what came before stays.
                for (later, later_fate) in jobs[i + 1..].iter_mut() {
                    if later.chain.is_some_and(|l| l <= e) {
                        *later_fate = Fate::Broken;
                    }
                }
            }
        }
        if newly_failed {
            if let Err(e) = txn.abort() {
                break Err(StoreError::from(e));
            }
            continue;
        }
        break txn.commit().map_err(StoreError::from);
    };
    let included = jobs.iter().filter(|(_, fate)| *fate == Fate::Included).count() as u64;
    match &outcome {
        Ok(()) => {
            // Wakes the feed's long polls once the events are durable, before any job
            // of the group is answered.
            if let Some(last) = super::events::take_last_written() {
                events.send_replace(last);
            }
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.jobs.fetch_add(included, Ordering::Relaxed);
            stats
                .commit_micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            let bucket = BATCH_BUCKETS
                .iter()
                .position(|b| included <= *b)
                .unwrap_or(BATCH_BUCKETS.len() - 1);
            stats.batch_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            super::events::reset_last_written();
            stats.failed_commits.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, jobs = jobs.len(), "group commit failed");
            for (job, fate) in &jobs {
                if let (Fate::Included, Some(e)) = (fate, job.chain) {
                    *min_epoch = (*min_epoch).max(e + 1);
                }
            }
        }
    }
    for (Job { run, done, .. }, fate) in jobs {
        // Dropped before the reply, so that the submitter owns what the job shared.
        drop(run);
        let reply = match (&outcome, fate) {
            // An excluded job's own error is already in its slot.
            (_, Fate::Failed) => Ok(()),
            (_, Fate::Broken) => Err(StoreError::ChainBroken),
            (Ok(()), Fate::Included) => Ok(()),
            (Err(e), Fate::Included) => Err(StoreError::WriterFailed(e.to_string())),
        };
        done(reply);
    }
}

#[cfg(test)]
mod tests {
    use redb::{ReadableDatabase, TableDefinition};

    use super::super::{Store, StoreError, WriteTxn};

    const T: TableDefinition<&str, u64> = TableDefinition::new("writer_test");

    fn put(key: &'static str, fail: bool) -> impl FnMut(&WriteTxn) -> Result<(), StoreError> {
        move |txn| {
            txn.0.open_table(T)?.insert(key, 1)?;
            if fail {
                return Err(StoreError::StaleRow(key.to_string()));
            }
            Ok(())
        }
    }

    fn stored(store: &Store, key: &str) -> bool {
        let txn = store.db.begin_read().unwrap_or_else(|e| panic!("read: {e}"));
        match txn.open_table(T) {
            Ok(t) => t.get(key).ok().flatten().is_some(),
            Err(_) => false,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    /// Jobs queued behind a failing chained job of their epoch fail without running;
    /// jobs outside the chain and of a later epoch commit.
    #[test]
    fn a_failed_chained_job_breaks_the_rest_of_its_epoch() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("open: {e}"));
        // Queued while the writer is busy with a slow job, so that they share one group
        // (the case where the redo of a group must keep the jobs before the failure).
        // The blocker says when the writer runs it, and waits until the rest is queued.
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = std::sync::Mutex::new(release_rx);
        // Held on its first run only (a redone group runs its jobs again).
        let mut held = false;
        let blocker = store.writer.submit(None, move |_txn| {
            if !held && let Ok(rx) = release_rx.lock() {
                held = true;
                let _ = started_tx.send(());
                let _ = rx.recv_timeout(std::time::Duration::from_secs(30));
            }
            Ok::<(), StoreError>(())
        });
        started
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("the writer runs the blocker: {e}"));
        let a = store.write_chained(0, put("a", false));
        let b = store.write_chained(0, put("b", true));
        let c = store.write_chained(0, put("c", false));
        let outside = store.write(put("outside", false));
        let next_epoch = store.write_chained(1, put("d", false));
        let _ = release.send(());
        let rt = runtime();
        let (a, b, c, outside, next_epoch) = rt.block_on(async {
            let _ = blocker.await;
            (a.await, b.await, c.await, outside.await, next_epoch.await)
        });
        let stats = store.writer_stats();
        assert_eq!(
            stats.commits.load(std::sync::atomic::Ordering::Relaxed),
            2,
            "the blocker, then one group for the rest"
        );
        assert!(a.is_ok(), "a job before the failure commits: {a:?}");
        assert!(
            matches!(b, Err(StoreError::StaleRow(_))),
            "the failing job gets its own error: {b:?}"
        );
        assert!(
            matches!(c, Err(StoreError::ChainBroken)),
            "a later job of the epoch is refused: {c:?}"
        );
        assert!(
            outside.is_ok(),
            "an unchained job is not part of the chain: {outside:?}"
        );
        assert!(next_epoch.is_ok(), "a later epoch starts afresh: {next_epoch:?}");
        assert!(stored(&store, "a") && stored(&store, "outside") && stored(&store, "d"));
        assert!(
            !stored(&store, "b") && !stored(&store, "c"),
            "nothing of the broken chain is stored"
        );

        // Later jobs of the broken epoch stay refused; barriers report it.
        let late = rt.block_on(store.write_chained(0, put("late", false)));
        assert!(matches!(late, Err(StoreError::ChainBroken)), "{late:?}");
        assert!(matches!(rt.block_on(store.barrier(0)), Err(StoreError::ChainBroken)));
        assert!(matches!(store.barrier_blocking(0), Err(StoreError::ChainBroken)));
        assert!(rt.block_on(store.barrier(1)).is_ok());
        assert!(store.barrier_blocking(1).is_ok());
        assert!(!stored(&store, "late"));
        store.close();
    }

    /// Jobs run in the order they were queued, not the order their futures are awaited.
    #[test]
    fn jobs_run_in_the_order_they_are_queued() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("open: {e}"));
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let futures: Vec<_> = (0..50u64)
            .map(|i| {
                let order = order.clone();
                store.write_chained(0, move |_txn| {
                    order.lock().map_err(|_| StoreError::WriterGone)?.push(i);
                    Ok::<(), StoreError>(())
                })
            })
            .collect();
        let rt = runtime();
        rt.block_on(async {
            for f in futures.into_iter().rev() {
                f.await.unwrap_or_else(|e| panic!("job: {e}"));
            }
        });
        let seen = order.lock().map(|o| o.clone()).unwrap_or_default();
        let mut firsts = seen.clone();
        firsts.dedup();
        assert_eq!(
            firsts,
            (0..50).collect::<Vec<_>>(),
            "each job after the one queued before it"
        );
        store.close();
    }
}
