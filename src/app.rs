//! Building and running the server: store -> actors -> HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use actix_web::dev::{Server, ServerHandle};

use crate::actors::delivery::DeliveryHandle;
use crate::actors::history::HistoryActor;
use crate::actors::records::RecordActor;
use crate::actors::scheduler::{SchedulerActor, StopScheduler};
use crate::actors::segment::{SegmentActor, SubscribeCatalog};
use crate::auth::Auth;
use crate::domain::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::http::admission::Admission;
use crate::http::console::Console;
pub use crate::http::console::ConsoleOptions;
use crate::http::metrics::Metrics;
use crate::pipeline::catalog::SharedCatalog;
use crate::scripting::Scripting;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// Default bound of request-body bytes in flight: four largest batches.
pub const DEFAULT_MAX_INFLIGHT_BYTES: usize = 64 << 20;

/// How to run the server.
#[derive(Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub bind: String,
    /// Accepted as a `system_administrator` token when set.
    pub admin_token: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Bound of the store's page cache.
    pub cache_bytes: usize,
    /// Bound of the request-body bytes worked on at once (see `http::admission`).
    pub max_inflight_bytes: usize,
    /// The web console at `/console`; `None` turns it off (`ALLOT_CONSOLE=off`).
    pub console: Option<ConsoleOptions>,
}

impl ServeConfig {
    pub fn new(data_dir: impl Into<PathBuf>, bind: impl Into<String>) -> ServeConfig {
        ServeConfig {
            data_dir: data_dir.into(),
            bind: bind.into(),
            admin_token: None,
            clock: Arc::new(SystemClock),
            workers: 0,
            cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
            console: Some(ConsoleOptions::default()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("loading state: {0}")]
    Load(#[from] Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

pub struct Application {
    addr: SocketAddr,
    server: Server,
    store: Store,
    scheduler: Addr<SchedulerActor>,
    delivery: DeliveryHandle,
    arbiters: Vec<Arbiter>,
    /// The secret of the administrator token made at first start, to print once.
    pub first_admin_token: Option<String>,
}

impl Application {
    /// Opens the store, starts the actors and binds the HTTP server (not yet serving).
    /// Must run inside an actix system.
    pub async fn build(config: ServeConfig) -> Result<Application, StartError> {
        let store = Store::open_with_cache(&config.data_dir, config.cache_bytes)?;
        let (auth, first) = Auth::load(store.clone(), config.admin_token.clone()).await?;
        let scripting = Arc::new(Scripting::new());

        let mut segment_actor = SegmentActor::load(store.clone(), scripting.clone())?;
        let catalog = Arc::new(segment_actor.catalog());
        let mut record_actor = RecordActor::load(store.clone(), catalog, scripting.clone(), config.clock.clone())?;
        let shared_catalog = SharedCatalog::default();
        record_actor.share_catalog(shared_catalog.clone());
        let history_actor = HistoryActor::load(store.clone())?;
        // Scripts run in the segment and record actors: give each its own thread so that
        // they never stall the HTTP workers.
        let arbiters = vec![Arbiter::new(), Arbiter::new(), Arbiter::new()];
        // Named so that `top -H`, `perf` and the load driver's per-thread CPU say which is which.
        for (arbiter, name) in arbiters
            .iter()
            .zip([c"allot-segments", c"allot-records", c"allot-schedhist"])
        {
            arbiter.spawn_fn(move || name_this_thread(name));
        }
        let segments = SegmentActor::start_in_arbiter(&arbiters[0].handle(), |_| segment_actor);
        let records = RecordActor::start_in_arbiter(&arbiters[1].handle(), |_| record_actor);
        // Scheduled runs go through the same path as "run now".
        let scheduler_actor =
            match SchedulerActor::load(store.clone(), config.clock.clone(), records.clone().recipient()) {
                Ok(a) => a,
                Err(e) => {
                    stop(arbiters, &store);
                    return Err(e.into());
                }
            };
        let scheduler = SchedulerActor::start_in_arbiter(&arbiters[2].handle(), |_| scheduler_actor);
        let history = HistoryActor::start_in_arbiter(&arbiters[2].handle(), |_| history_actor);
        segments.do_send(SubscribeCatalog(records.clone().recipient()));
        let delivery = DeliveryHandle::start(store.clone());

        let state = actix_web::web::Data::new(AppState {
            store: store.clone(),
            auth,
            scripting,
            catalog: shared_catalog,
            clock: config.clock.clone(),
            segments,
            records,
            scheduler: scheduler.clone(),
            history,
            delivery: delivery.clone(),
        });
        let metrics = actix_web::web::Data::new(Metrics::default());
        let admission = actix_web::web::Data::from(Admission::new(config.max_inflight_bytes));
        let (server, addr) = match listen(&config, state, metrics, admission) {
            Ok(bound) => bound,
            Err(e) => {
                // Nothing serves: stop the actors and the writer now, so that the data
                // file is released when this returns (a caller may try again at once).
                delivery.stop();
                stop(arbiters, &store);
                return Err(e);
            }
        };
        Ok(Application {
            addr,
            server,
            store,
            scheduler,
            delivery,
            arbiters,
            first_admin_token: first.map(|t| t.token),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM or [`ServerHandle::stop`], then flushes the writer.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        // The job library's timers keep running until told to stop; a scheduler that does
        // not answer must not hold up the shutdown.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.scheduler.send(StopScheduler)).await;
        self.delivery.stop();
        stop(self.arbiters, &self.store);
        result
    }
}

/// Binds the HTTP server and starts it.
fn listen(
    config: &ServeConfig,
    state: actix_web::web::Data<AppState>,
    metrics: actix_web::web::Data<Metrics>,
    admission: actix_web::web::Data<Admission>,
) -> Result<(Server, SocketAddr), StartError> {
    // Shared by every worker, like the state: a session signed in on one is known to all.
    let console = config
        .console
        .map(|options| actix_web::web::Data::new(Console::new(options)));
    // The factory runs once on each worker thread as it starts.
    let mut server = actix_web::HttpServer::new(move || {
        name_this_thread(c"allot-http");
        crate::http::app(state.clone(), metrics.clone(), admission.clone(), console.clone())
    })
    .shutdown_timeout(10);
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    let server = server.bind(&config.bind).map_err(|source| StartError::Bind {
        addr: config.bind.clone(),
        source,
    })?;
    let addr = server.addrs().first().copied().ok_or_else(|| StartError::Bind {
        addr: config.bind.clone(),
        source: std::io::Error::other("no address bound"),
    })?;
    Ok((server.run(), addr))
}

/// Names the calling thread as `/proc/<pid>/task/*/comm` shows it (at most 15 bytes).
fn name_this_thread(name: &'static std::ffi::CStr) {
    let _ = rustix::thread::set_name(name);
}

/// Stops the actor threads and the store writer, and waits until every other handle on
/// the data file is gone, so that it is released before this returns (a restart in the
/// same process can open it at once).
fn stop(arbiters: Vec<Arbiter>, store: &Store) {
    for arbiter in &arbiters {
        arbiter.stop();
    }
    for arbiter in arbiters {
        let _ = arbiter.join();
    }
    store.close();
    store.wait_released(std::time::Duration::from_secs(10));
}
