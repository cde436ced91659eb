//! The webhook delivery worker: one thread (`allot-webhooks`, an actix system of its
//! own, so that a slow receiver never holds an HTTP worker or the record actor), one
//! task per webhook reading the feed (the outbox) from its durable cursor, and the
//! feed's retention pruning.
//!
//! A webhook's task takes matching events after its cursor, POSTs those that are due and
//! first of their record among its pending deliveries (so one record's events arrive in
//! commit order, others in parallel), and writes the outcomes with the new cursor in one
//! transaction. What was sent and not yet written is sent again after a crash: at least
//! once. Failures are retried with backoff and jitter (`domain::webhook::backoff`) for up
//! to a day; after [`DeliveryCursor::FAILING_AFTER`] failures in a row the webhook is
//! `failing` and only its oldest due delivery is retried until one succeeds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::domain::config::Settings;
use crate::domain::event::EventTypes;
use crate::domain::webhook::{Delivery, DeliveryCursor, DeliveryStatus, WebhookBody, signature};
use crate::store::{Collection, Store, StoreError};

/// Events a task takes from the feed at a time, and deliveries it sends at once.
const BATCH: usize = 256;
/// Pending deliveries a webhook keeps before it stops taking new events.
const MAX_PENDING: usize = 10_000;
/// A receiver's answer is read up to this many bytes, then dropped.
const MAX_ANSWER: usize = 16 << 10;
/// A delivery not answered within this is a failed attempt.
pub const REQUEST_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// The delivery thread's nice value.
const DELIVERY_NICE: i32 = 10;
/// How often the feed is pruned.
const PRUNE_EVERY: StdDuration = StdDuration::from_secs(600);

/// What to deliver again.
#[derive(Clone, Copy, Debug)]
pub enum Redeliver {
    /// One event.
    Event(u64),
    /// Every matching event after this cursor.
    After(u64),
}

enum Command {
    /// The webhooks changed: reload them from the store.
    Reload,
    Redeliver {
        webhook: String,
        what: Redeliver,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Stop,
}

enum HookCommand {
    Config(WebhookBody),
    Redeliver(Redeliver, oneshot::Sender<Result<(), String>>),
}

/// How operations reach the worker.
#[derive(Clone)]
pub struct DeliveryHandle {
    tx: mpsc::UnboundedSender<Command>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl DeliveryHandle {
    /// Starts the worker over `store`.
    pub fn start(store: Store) -> DeliveryHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("allot-webhooks".into())
            .spawn(move || {
                // Deliveries are background work: when both cores are busy, ingest and
                // processing go first (a nice value for this thread only).
                if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), DELIVERY_NICE) {
                    tracing::warn!(error = %e, "could not lower the webhook thread's priority");
                }
                let system = actix::System::new();
                system.block_on(run(store, rx));
            });
        let thread = match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, "could not start the webhook delivery thread");
                None
            }
        };
        DeliveryHandle {
            tx,
            thread: Arc::new(Mutex::new(thread)),
        }
    }

    /// A webhook was created, changed or deleted.
    pub fn reload(&self) {
        let _ = self.tx.send(Command::Reload);
    }

    /// Queues deliveries again; answers once they are durably pending.
    pub async fn redeliver(&self, webhook: &str, what: Redeliver) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Redeliver {
                webhook: webhook.to_string(),
                what,
                reply,
            })
            .map_err(|_| "the delivery worker has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the delivery worker has stopped".to_string())?
    }

    /// Stops the worker (deliveries in flight are sent again at the next start).
    pub fn stop(&self) {
        let _ = self.tx.send(Command::Stop);
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut hooks: HashMap<String, (mpsc::UnboundedSender<HookCommand>, tokio::task::JoinHandle<()>)> = HashMap::new();
    let client = awc::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .disable_redirects()
        .finish();
    reload(&store, &client, &mut hooks);
    let pruner = actix::spawn(prune_forever(store.clone()));
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Command::Reload => reload(&store, &client, &mut hooks),
            Command::Redeliver { webhook, what, reply } => match hooks.get(&webhook) {
                Some((tx, _)) => {
                    if let Err(mpsc::error::SendError(HookCommand::Redeliver(_, reply))) =
                        tx.send(HookCommand::Redeliver(what, reply))
                    {
                        let _ = reply.send(Err("the webhook's delivery task has stopped".into()));
                    }
                }
                None => {
                    let _ = reply.send(Err(format!("no webhook {webhook}")));
                }
            },
            Command::Stop => break,
        }
    }
    pruner.abort();
    for (_, (_, task)) in hooks {
        task.abort();
    }
}

/// Starts a task for each new webhook, passes changes on, stops the deleted ones.
fn reload(
    store: &Store,
    client: &awc::Client,
    hooks: &mut HashMap<String, (mpsc::UnboundedSender<HookCommand>, tokio::task::JoinHandle<()>)>,
) {
    let configured: Vec<(String, WebhookBody)> = match store.read().and_then(|t| t.load_all(Collection::Webhooks)) {
        Ok(all) => all,
        Err(e) => {
            tracing::error!(error = %e, "reading webhooks");
            return;
        }
    };
    let names: HashSet<&String> = configured.iter().map(|(id, _)| id).collect();
    hooks.retain(|id, (_, task)| {
        let keep = names.contains(id) && !task.is_finished();
        if !keep {
            task.abort();
        }
        keep
    });
    for (id, body) in configured {
        if let Some((tx, _)) = hooks.get(&id) {
            let _ = tx.send(HookCommand::Config(body));
            continue;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let hook = Hook {
            id: id.clone(),
            types: body.types(),
            config: body,
            cursor: DeliveryCursor::default(),
            pending: BTreeMap::new(),
            bodies: HashMap::new(),
            store: store.clone(),
            client: client.clone(),
        };
        let task = actix::spawn(hook.run(rx));
        hooks.insert(id, (tx, task));
    }
}

/// Deletes events older than the retention (`event_retention_days`), and the
/// deliveries of the deleted ones, a bounded number per transaction.
async fn prune_forever(store: Store) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = prune(&store, Utc::now()).await {
            tracing::error!(error = %e, "pruning the change feed");
        }
    }
}

/// Prunes the feed as of `now`; answers the id of the last event deleted (0: none).
pub async fn prune(store: &Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let settings: Settings = store.read()?.get(Collection::Settings, "settings")?.unwrap_or_default();
    let cutoff = now - chrono::Duration::days(i64::from(settings.event_retention_days));
    let mut last = 0;
    loop {
        let pruned = store.write(move |txn| txn.prune_events(cutoff, 10_000)).await?;
        if pruned == 0 {
            break;
        }
        last = pruned;
    }
    if last > 0 {
        let hooks: Vec<(String, serde_json::Value)> = store.read()?.load_all(Collection::Webhooks)?;
        for (id, _) in hooks {
            store.write(move |txn| txn.prune_deliveries(&id, last)).await?;
        }
    }
    Ok(last)
}

struct Hook {
    id: String,
    config: WebhookBody,
    types: EventTypes,
    cursor: DeliveryCursor,
    /// Deliveries not yet delivered or failed, by event id.
    pending: BTreeMap<u64, Delivery>,
    /// The JSON of pending events taken from the feed by this task (after a restart
    /// they are read again).
    bodies: HashMap<u64, String>,
    store: Store,
    client: awc::Client,
}

/// What a delivery attempt came to: the 2xx status, or the failure (status, if any,
/// and what went wrong).
type Attempt = Result<u16, (Option<u16>, String)>;

/// The error of a delivery whose event is no longer in the feed: not retried.
const PRUNED: &str = "the event was pruned from the feed";

impl Hook {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<HookCommand>) {
        if let Err(e) = self.load() {
            tracing::error!(webhook = %self.id, error = %e, "loading webhook deliveries");
            return;
        }
        let mut events = self.store.subscribe_events();
        loop {
            while let Ok(cmd) = commands.try_recv() {
                self.apply(cmd).await;
            }
            let progressed = if self.config.active {
                match self.step().await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(webhook = %self.id, error = %e, "delivering webhook events");
                        false
                    }
                }
            } else {
                false
            };
            if progressed {
                continue;
            }
            let wake = self.next_wake();
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.apply(cmd).await,
                    None => return,
                },
                changed = events.changed(), if self.takes_new_events() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = sleep_until(wake) => {}
            }
        }
    }

    fn load(&mut self) -> Result<(), StoreError> {
        let txn = self.store.read()?;
        self.cursor = txn.delivery_cursor(&self.id)?.unwrap_or_default();
        let mut after = 0;
        loop {
            let page = txn.deliveries(&self.id, after, Some(DeliveryStatus::Pending), 1000)?;
            let Some(last) = page.last().map(Delivery::event_seq) else {
                break;
            };
            after = last;
            for d in page {
                self.pending.insert(d.event_seq(), d);
            }
        }
        Ok(())
    }

    async fn apply(&mut self, cmd: HookCommand) {
        match cmd {
            HookCommand::Config(body) => {
                self.types = body.types();
                self.config = body;
            }
            HookCommand::Redeliver(what, reply) => {
                let _ = reply.send(self.redeliver(what).await.map_err(|e| e.to_string()));
            }
        }
    }

    async fn redeliver(&mut self, what: Redeliver) -> Result<(), StoreError> {
        let now = Utc::now();
        match what {
            Redeliver::Event(id) => {
                let event = self.store.read()?.event(id)?;
                let Some(event) = event else {
                    return Err(StoreError::Codec {
                        key: format!("event {id}"),
                        message: "no such event in the feed (never written, or pruned)".into(),
                    });
                };
                let delivery = Delivery::pending(id, event.key.clone(), now);
                let mut cursor = self.cursor.clone();
                cursor.pending = (self.pending.len() + usize::from(!self.pending.contains_key(&id))) as u64;
                let id_ = self.id.clone();
                let (row, state) = (delivery.clone(), cursor.clone());
                self.store
                    .write(move |txn| {
                        txn.put_delivery(&id_, &row)?;
                        txn.put_delivery_cursor(&id_, &state)
                    })
                    .await?;
                self.cursor = cursor;
                self.bodies.insert(id, event.json());
                self.pending.insert(id, delivery);
            }
            Redeliver::After(after) => {
                let mut cursor = self.cursor.clone();
                cursor.cursor = cursor.cursor.min(after);
                let id_ = self.id.clone();
                let row = cursor.clone();
                self.store.write(move |txn| txn.put_delivery_cursor(&id_, &row)).await?;
                self.cursor = cursor;
            }
        }
        Ok(())
    }

    fn takes_new_events(&self) -> bool {
        self.config.active && !self.cursor.failing() && self.pending.len() < MAX_PENDING
    }

    /// The pending deliveries that may be sent now: due, and first of their record.
    fn sendable(&self, now: DateTime<Utc>) -> Vec<u64> {
        let mut seen_keys = HashSet::new();
        let mut out = Vec::new();
        for (id, d) in &self.pending {
            let first_of_record = d.key.is_empty() || seen_keys.insert(d.key.as_str());
            if first_of_record && d.next_attempt_at.is_none_or(|t| t <= now) {
                out.push(*id);
                if out.len() >= BATCH || self.cursor.failing() {
                    break;
                }
            }
        }
        out
    }

    /// When the earliest pending delivery that waits only for its time is due.
    fn next_wake(&self) -> Option<DateTime<Utc>> {
        if !self.config.active {
            return None;
        }
        let mut seen_keys = HashSet::new();
        self.pending
            .values()
            .filter(|d| d.key.is_empty() || seen_keys.insert(d.key.as_str()))
            .filter_map(|d| d.next_attempt_at)
            .min()
    }

    /// Takes new events, sends what is due, writes the outcome; answers whether it did
    /// anything.
    async fn step(&mut self) -> Result<bool, StoreError> {
        let now = Utc::now();
        let mut changed: Vec<Delivery> = Vec::new();
        let mut cursor_moved = false;
        if self.takes_new_events() {
            let take = BATCH.min(MAX_PENDING - self.pending.len());
            let (events, scanned) = self.store.read()?.events(self.cursor.cursor, self.types, take)?;
            for e in events {
                let d = Delivery::pending(e.id, e.key.clone(), now);
                self.bodies.insert(e.id, e.json());
                changed.push(d.clone());
                self.pending.insert(e.id, d);
            }
            if scanned != self.cursor.cursor {
                self.cursor.cursor = scanned;
                cursor_moved = true;
            }
        }
        let sendable = self.sendable(now);
        let mut sends = Vec::with_capacity(sendable.len());
        let this = &*self;
        for id in &sendable {
            let body = match this.bodies.get(id) {
                Some(b) => Some(b.clone()),
                None => this.store.read()?.event(*id)?.map(|e| e.json()),
            };
            sends.push(async move {
                match body {
                    Some(body) => (*id, this.post(*id, body).await),
                    None => (*id, Err((None, PRUNED.to_string()))),
                }
            });
        }
        let outcomes = futures_util::future::join_all(sends).await;
        let attempted = !outcomes.is_empty();
        let done_at = Utc::now();
        for (id, outcome) in outcomes {
            let Some(d) = self.pending.get_mut(&id) else {
                continue;
            };
            match outcome {
                Ok(status) => {
                    d.delivered(status, done_at);
                    self.cursor.consecutive_failures = 0;
                }
                Err((status, error)) => {
                    let pruned = status.is_none() && error == PRUNED;
                    d.attempt_failed(status, error, done_at, jitter());
                    if pruned {
                        d.status = DeliveryStatus::Failed;
                        d.next_attempt_at = None;
                    }
                    self.cursor.consecutive_failures = self.cursor.consecutive_failures.saturating_add(1);
                }
            }
            changed.retain(|c| c.event_seq() != id);
            changed.push(d.clone());
        }
        if changed.is_empty() && !cursor_moved && !attempted {
            return Ok(false);
        }
        for d in changed.iter().filter(|d| d.status != DeliveryStatus::Pending) {
            let seq = d.event_seq();
            self.pending.remove(&seq);
            self.bodies.remove(&seq);
        }
        self.cursor.pending = self.pending.len() as u64;
        let id = self.id.clone();
        let cursor = self.cursor.clone();
        let written = Arc::new(changed);
        self.store
            .write(move |txn| {
                // The webhook may have been deleted meanwhile: its rows go with it.
                if !txn.contains(Collection::Webhooks, &id)? {
                    return Ok(());
                }
                for d in written.iter() {
                    txn.put_delivery(&id, d)?;
                }
                txn.put_delivery_cursor(&id, &cursor)
            })
            .await?;
        Ok(true)
    }

    /// One POST: 2xx within the timeout delivers.
    async fn post(&self, event_id: u64, body: String) -> Attempt {
        let t = Utc::now().timestamp();
        let sig = signature(self.config.secret.as_bytes(), t, body.as_bytes());
        let request = self
            .client
            .post(self.config.url.trim())
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("Allot-Event-Id", event_id.to_string()))
            .insert_header(("Allot-Signature", sig))
            .timeout(REQUEST_TIMEOUT);
        let exchange = async {
            let mut answer = request.send_body(body).await.map_err(|e| (None, e.to_string()))?;
            let status = answer.status().as_u16();
            // Read a little of the answer (so the connection can be reused), no more.
            let _ = answer.body().limit(MAX_ANSWER).await;
            if (200..300).contains(&status) {
                Ok(status)
            } else {
                Err((Some(status), format!("the receiver answered {status}")))
            }
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err((None, "no answer within 10 s".to_string())),
        }
    }
}

/// Sleeps until `at` (forever when `None`).
async fn sleep_until(at: Option<DateTime<Utc>>) {
    match at {
        Some(at) => {
            let wait = (at - Utc::now()).to_std().unwrap_or(StdDuration::ZERO);
            tokio::time::sleep(wait).await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// 0 to 1, for the backoff's jitter.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
}
