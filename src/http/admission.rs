//! Admission control: a bound on the request-body bytes the server works on at once.
//!
//! A body costs several times its size while it is processed (the bytes, the parsed
//! records, the maps scripts see, the encoded rows, the answer's status views), so
//! concurrent large batches, not the store, decide resident memory. Every body reserves
//! its bytes here before they are kept; a request that would pass the bound is answered
//! 503 `unavailable` with `Retry-After` (its body is read and dropped, so the client
//! gets the answer instead of a broken pipe). The reservation lives in the request's
//! extensions and is released when the request is done with.
//!
//! A body of declared length waits up to [`ADMISSION_WAIT`] for room before it is
//! refused, reading nothing meanwhile (TCP holds the client back), so a burst of large
//! batches is admitted a few at a time at full speed rather than refused outright.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Seconds a refused client is told to wait.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// How long a body of declared length waits for room before it is refused.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(5);

/// The shared budget of request-body bytes in flight.
pub struct Admission {
    limit: usize,
    in_flight: AtomicUsize,
    refused: AtomicU64,
    /// Requests waiting for room now.
    waiting: AtomicUsize,
    /// Woken whenever a reservation gives bytes back.
    released: Notify,
}

impl Admission {
    /// A budget of `limit` bytes; never below one largest body, so that any body the
    /// contract allows can be admitted when the server is otherwise idle.
    pub fn new(limit: usize) -> Arc<Admission> {
        Arc::new(Admission {
            limit: limit.max(super::extract::BODY_LIMIT),
            in_flight: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            released: Notify::new(),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Request-body bytes reserved now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests waiting for room now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Requests refused since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn try_take(&self, bytes: usize) -> bool {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    pub(super) fn note_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// Bytes one request holds of the budget; given back on drop.
pub struct Reservation {
    admission: Arc<Admission>,
    bytes: usize,
}

impl Reservation {
    /// Takes `bytes` more of the budget, waiting up to `wait` for room; false (and
    /// nothing taken) when there was none in time.
    pub async fn grow_within(&mut self, bytes: usize, wait: Duration) -> bool {
        if self.grow(bytes) {
            return true;
        }
        let deadline = tokio::time::Instant::now() + wait;
        let admission = self.admission.clone();
        admission.waiting.fetch_add(1, Ordering::Relaxed);
        let admitted = loop {
            // Registered before the attempt, so that a release between the attempt and
            // the wait is not missed.
            let released = admission.released.notified();
            if self.grow(bytes) {
                break true;
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                break false;
            }
        };
        admission.waiting.fetch_sub(1, Ordering::Relaxed);
        admitted
    }

    /// An empty reservation; grows with [`Reservation::grow`].
    pub fn new(admission: Arc<Admission>) -> Reservation {
        Reservation { admission, bytes: 0 }
    }

    /// Takes `bytes` more of the budget; false (and nothing taken) when it is full.
    pub fn grow(&mut self, bytes: usize) -> bool {
        if bytes == 0 {
            return true;
        }
        let taken = self.admission.try_take(bytes);
        if taken {
            self.bytes += bytes;
        }
        taken
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.admission.in_flight.fetch_sub(self.bytes, Ordering::AcqRel);
            self.admission.released.notify_waiters();
        }
    }
}

/// Prometheus text of the budget.
pub fn render(admission: &Admission) -> String {
    format!(
        "# HELP allot_inflight_request_bytes Request-body bytes being worked on now.\n\
         # TYPE allot_inflight_request_bytes gauge\n\
         allot_inflight_request_bytes {}\n\
         # HELP allot_inflight_request_bytes_limit The bound of request-body bytes in flight (--max-inflight-mb).\n\
         # TYPE allot_inflight_request_bytes_limit gauge\n\
         allot_inflight_request_bytes_limit {}\n\
         # HELP allot_admission_waiting Requests waiting for room in the in-flight bound now.\n\
         # TYPE allot_admission_waiting gauge\n\
         allot_admission_waiting {}\n\
         # HELP allot_admission_refused_total Requests answered 503 because the in-flight bound was reached.\n\
         # TYPE allot_admission_refused_total counter\n\
         allot_admission_refused_total {}\n",
        admission.in_flight(),
        admission.limit(),
        admission.waiting(),
        admission.refused()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::BODY_LIMIT;

    #[test]
    fn reservations_never_pass_the_limit_and_are_given_back() {
        let admission = Admission::new(BODY_LIMIT * 2);
        let mut a = Reservation::new(admission.clone());
        let mut b = Reservation::new(admission.clone());
        assert!(a.grow(BODY_LIMIT));
        assert!(b.grow(BODY_LIMIT));
        let mut c = Reservation::new(admission.clone());
        assert!(!c.grow(1), "the budget is full");
        assert_eq!(c.bytes(), 0);
        drop(a);
        assert_eq!(admission.in_flight(), BODY_LIMIT);
        assert!(c.grow(BODY_LIMIT));
        drop((b, c));
        assert_eq!(admission.in_flight(), 0);
    }

    #[test]
    fn the_limit_is_never_below_one_largest_body() {
        assert_eq!(Admission::new(1).limit(), BODY_LIMIT);
    }
}
