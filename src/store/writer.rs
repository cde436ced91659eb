//! The single writer thread: group commit.
//!
//! redb allows one write transaction at a time and its calls block, so every write job
//! is sent here. The thread takes the first waiting job, drains whatever else is queued
//! (up to [`MAX_GROUP`]), runs them all in one transaction and commits once. A job that
//! fails is excluded and the group is redone without it, so one bad job never costs the
//! others their write.

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

struct Job {
    run: JobFn,
    done: oneshot::Sender<Result<(), StoreError>>,
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
    pub(super) async fn submit<T, E, F>(&self, mut job: F) -> Result<T, E>
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
        self.tx
            .send(Msg::Job(Job { run, done }))
            .map_err(|_| E::from(StoreError::WriterGone))?;
        match wait.await {
            Err(_) => Err(E::from(StoreError::WriterGone)),
            Ok(Err(e)) => Err(E::from(e)),
            Ok(Ok(())) => {
                let taken = slot.lock().ok().and_then(|mut s| s.take());
                taken.unwrap_or_else(|| Err(E::from(StoreError::WriterGone)))
            }
        }
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
        commit_group(&db, group, &stats);
    }
}

fn commit_group(db: &redb::Database, group: Vec<Job>, stats: &WriterStats) {
    let started = std::time::Instant::now();
    let mut jobs: Vec<(Job, bool)> = group.into_iter().map(|j| (j, true)).collect();
    // Each pass either commits or excludes at least one more failing job.
    let outcome = loop {
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => break Err(StoreError::from(e)),
        };
        let mut newly_failed = false;
        for (job, included) in jobs.iter_mut() {
            if *included && !(job.run)(&txn) {
                *included = false;
                newly_failed = true;
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
    let included = jobs.iter().filter(|(_, inc)| *inc).count() as u64;
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
        }
    }
    for (job, included) in jobs {
        let reply = match (&outcome, included) {
            // An excluded job's own error is already in its slot.
            (_, false) => Ok(()),
            (Ok(()), true) => Ok(()),
            (Err(e), true) => Err(StoreError::WriterFailed(e.to_string())),
        };
        let _ = job.done.send(reply);
    }
}
