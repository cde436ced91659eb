//! Webhooks: their configuration, the state of their deliveries, the retry schedule
//! and the signature of a delivery.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::Invalid;
use super::event::{EventType, EventTypes};

/// A webhook as `PUT /webhooks/{id}` takes it (and as it is stored, secret included).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// `http://` or `https://`.
    #[schema(max_length = 2048, pattern = "^\\s*[Hh][Tt][Tt][Pp][Ss]?://\\S+\\s*$")]
    pub url: String,
    /// Event types to deliver (`record.owner_changed`, `record.status_changed`,
    /// `run.finished`, `config.changed`); at least one.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
    /// At least 16 characters; never shown again.
    #[schema(min_length = 16)]
    pub secret: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl WebhookBody {
    pub const MIN_SECRET: usize = 16;
    const MAX_URL: usize = 2048;

    /// Checks the body; answers the event types it asks for.
    pub fn validate(&self) -> Result<EventTypes, Invalid> {
        let url = self.url.trim();
        let scheme_ok = ["http://", "https://"]
            .iter()
            .any(|p| url.len() > p.len() && url.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p)));
        if !scheme_ok || url.len() > Self::MAX_URL || url.contains(char::is_whitespace) {
            return Err(Invalid::new(
                "url",
                "an http:// or https:// URL with a host, without spaces, at most 2048 characters",
            ));
        }
        if self.secret.chars().count() < Self::MIN_SECRET {
            return Err(Invalid::new("secret", "the secret has at least 16 characters"));
        }
        if self.events.is_empty() {
            return Err(Invalid::new("events", "at least one event type"));
        }
        let mut types = Vec::new();
        for (i, name) in self.events.iter().enumerate() {
            types.push(EventType::parse(&format!("events[{i}]"), name)?);
        }
        Ok(EventTypes::of(types))
    }

    pub fn types(&self) -> EventTypes {
        EventTypes::of(self.events.iter().filter_map(|n| EventType::parse("events", n).ok()))
    }
}

/// What becomes of a webhook's deliveries.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    /// Delivering.
    Active,
    /// `active: false`: nothing is delivered; events wait in the feed.
    Paused,
    /// Its receiver kept failing: only the oldest due delivery is retried (with
    /// backoff) until one succeeds; new events wait in the feed.
    Failing,
}

/// A webhook as `GET` shows it: no secret.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub state: WebhookState,
    /// Events waiting to be delivered: pending deliveries and matching events not yet
    /// taken from the feed.
    pub backlog: u64,
}

/// How far a webhook's deliveries read the feed, and how they are going. Written only
/// by the delivery worker (and when the webhook is created).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct DeliveryCursor {
    /// Every event up to this id has a delivery row or was not for this webhook.
    pub cursor: u64,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// Deliveries pending (taken from the feed, not yet delivered or failed).
    #[serde(default)]
    pub pending: u64,
}

impl DeliveryCursor {
    /// Failed attempts in a row after which a webhook is `failing`.
    pub const FAILING_AFTER: u32 = 10;

    pub fn failing(&self) -> bool {
        self.consecutive_failures >= Self::FAILING_AFTER
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// One event's delivery to one webhook, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub event_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was first tried or queued: retries stop 24 h after.
    pub since: DateTime<Utc>,
    /// The record the event is about: one record's events are delivered in order.
    pub key: String,
}

/// A delivery as the deliveries list shows it.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct DeliveryView {
    pub event_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> DeliveryView {
        DeliveryView {
            event_id: d.event_id,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
        }
    }
}

impl Delivery {
    /// Retries stop this long after the first attempt.
    pub const RETRY_FOR: Duration = Duration::hours(24);

    pub fn pending(event_id: u64, key: String, now: DateTime<Utc>) -> Delivery {
        Delivery {
            event_id: event_id.to_string(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at: Some(now),
            delivered_at: None,
            since: now,
            key,
        }
    }

    pub fn event_seq(&self) -> u64 {
        self.event_id.parse().unwrap_or(0)
    }

    pub fn delivered(&mut self, status: u16, now: DateTime<Utc>) {
        self.attempts += 1;
        self.status = DeliveryStatus::Delivered;
        self.last_status_code = Some(status);
        self.last_error = None;
        self.next_attempt_at = None;
        self.delivered_at = Some(now);
    }

    /// A failed attempt: retried after the backoff of its attempt count (with jitter
    /// `jitter`, 0 to 1, of the delay), or `failed` past [`Self::RETRY_FOR`].
    pub fn attempt_failed(&mut self, status: Option<u16>, error: String, now: DateTime<Utc>, jitter: f64) {
        if self.attempts == 0 {
            self.since = now;
        }
        self.attempts += 1;
        self.last_status_code = status;
        self.last_error = Some(error);
        let next = now + backoff(self.attempts, jitter);
        if next - self.since > Self::RETRY_FOR {
            self.status = DeliveryStatus::Failed;
            self.next_attempt_at = None;
        } else {
            self.next_attempt_at = Some(next);
        }
    }
}

/// The delay before retry `attempts + 1`: 1 s doubling to at most an hour, plus up to
/// half of it at random (`jitter` in 0..1), so that retries of many deliveries spread.
pub fn backoff(attempts: u32, jitter: f64) -> Duration {
    let base_ms = 1000u64
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(12))
        .min(3_600_000);
    let jitter_ms = (base_ms as f64 * 0.5 * jitter.clamp(0.0, 1.0)) as u64;
    Duration::milliseconds((base_ms + jitter_ms) as i64)
}

/// `Allot-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<body>">`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(body.len() + 21);
    message.extend_from_slice(t.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    format!("t={t},v1={}", hex::encode(hmac_sha256(secret, &message)))
}

/// HMAC (RFC 2104) over SHA-256.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL whose first bytes are not characters boundaries where the scheme would end
    /// is refused, not a panic (schemathesis found it).
    #[test]
    fn a_url_of_multibyte_characters_is_refused_without_panicking() {
        for url in [
            "\u{e9}\u{e9}\u{e9}\u{e9}://x",
            "ht\u{2603}p://x",
            "\u{1f600}\u{1f600}",
            "https://",
        ] {
            let body = WebhookBody {
                url: url.to_string(),
                events: vec!["record.owner_changed".into()],
                secret: "0123456789abcdef".into(),
                active: true,
            };
            assert_eq!(body.validate().err().map(|e| e.field), Some("url".to_string()), "{url}");
        }
    }

    /// RFC 4231, test cases 2 and 6 (a key longer than the block).
    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn backoff_doubles_up_to_an_hour_and_retries_stop_after_a_day() {
        assert_eq!(backoff(1, 0.0), Duration::seconds(1));
        assert_eq!(backoff(2, 0.0), Duration::seconds(2));
        assert_eq!(backoff(3, 1.0), Duration::seconds(6));
        assert_eq!(backoff(40, 0.0), Duration::hours(1));
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut d = Delivery::pending(1, String::new(), now);
        d.attempt_failed(Some(500), "500".into(), now, 0.0);
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.next_attempt_at, Some(now + Duration::seconds(1)));
        let later = now + Duration::hours(24);
        d.attempt_failed(None, "timeout".into(), later, 0.0);
        assert_eq!(d.status, DeliveryStatus::Failed, "past 24 h it is failed");
        assert_eq!(d.next_attempt_at, None);
    }

    #[test]
    fn only_http_urls_and_long_secrets() {
        let body = |url: &str, secret: &str| WebhookBody {
            url: url.into(),
            events: vec!["run.finished".into()],
            secret: secret.into(),
            active: true,
        };
        assert!(body("https://crm.example/allot", "0123456789abcdef").validate().is_ok());
        assert!(body("ftp://crm.example/allot", "0123456789abcdef").validate().is_err());
        assert!(body("file:///etc/passwd", "0123456789abcdef").validate().is_err());
        assert!(body("http://x", "short").validate().is_err());
    }
}
