//! The single writer thread: group commit.
//!
//! redb allows one write transaction at a time and its calls block, so every write job
//! is sent here. The thread takes the first waiting job, drains whatever else is queued
//! (up to [`MAX_GROUP`]), runs them all in one transaction and commits once. A job that
//! fails is excluded and the group is redone without it, so one bad job never costs the
//! others their write.
//!
//! *Chained* jobs (the record batches of the seller-capacity actor, which submits batch
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

pub(super) fn spawn(db: Arc<redb::Database>) -> WriterHandle {
    let (tx, rx) = mpsc::channel::<Msg>();
    let stats = Arc::new(WriterStats::default());
    let thread_stats = stats.clone();
    let spawned = std::thread::Builder::new()
        .name("allot-writer".into())
        .spawn(move || run(db, rx, thread_stats));
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

fn run(db: Arc<redb::Database>, rx: mpsc::Receiver<Msg>, stats: Arc<WriterStats>) {
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
        commit_group(&db, group, &stats, &mut min_epoch);
    }
}

fn commit_group(db: &redb::Database, group: Vec<Job>, stats: &WriterStats, min_epoch: &mut u64) {
    let started = std::time::Instant::now();
    let mut jobs: Vec<(Job, Fate)> = group.into_iter().map(|j| (j, Fate::Included)).collect();
    // Each pass either commits or excludes at least one more failing job.
    let outcome = loop {
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => break Err(StoreError::from(e)),
        };
        let mut newly_failed = false;
        for (job, fate) in jobs.iter_mut() {
            if *fate != Fate::Included {
                continue;
            }
            if job.chain.is_some_and(|e| e < *min_epoch) {
                *fate = Fate::Broken;
                continue;
            }
            if !(job.run)(&txn) {
                *fate = Fate::Failed;
                newly_failed = true;
                if let Some(e) = job.chain {
                    *min_epoch = (*min_epoch).max(e + 1);
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
            stats.failed_commits.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, jobs = jobs.len(), "group commit failed");
            for (job, fate) in &jobs {
                if let (Fate::Included, Some(e)) = (fate, job.chain) {
                    *min_epoch = (*min_epoch).max(e + 1);
                }
            }
        }
    }
    for (job, fate) in jobs {
        let reply = match (&outcome, fate) {
            // An excluded job's own error is already in its slot.
            (_, Fate::Failed) => Ok(()),
            (_, Fate::Broken) => Err(StoreError::ChainBroken),
            (Ok(()), Fate::Included) => Ok(()),
            (Err(e), Fate::Included) => Err(StoreError::WriterFailed(e.to_string())),
        };
        (job.done)(reply);
    }
}
