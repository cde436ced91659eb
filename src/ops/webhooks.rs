//! Webhook operations: `/webhooks`, their deliveries and redelivery.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PageQuery;
use super::config::Saved;
use crate::actors::delivery::Redeliver;
use crate::auth::{Permission, Principal};
use crate::domain::event::parse_cursor;
use crate::domain::webhook::{DeliveryCursor, DeliveryView, WebhookBody, WebhookState, WebhookView};
use crate::domain::{Id, Page};
use crate::error::Error;
use crate::state::AppState;
use crate::store::{Collection, ReadTxn, StoreError};

fn view(txn: &ReadTxn, id: &str, body: WebhookBody) -> Result<WebhookView, Error> {
    let cursor = txn.delivery_cursor(id)?.unwrap_or_default();
    let state = if !body.active {
        WebhookState::Paused
    } else if cursor.failing() {
        WebhookState::Failing
    } else {
        WebhookState::Active
    };
    let backlog = cursor.pending + txn.count_events(cursor.cursor, body.types())?;
    Ok(WebhookView {
        id: id.to_string(),
        url: body.url,
        events: body.events,
        active: body.active,
        state,
        backlog,
    })
}

/// Creates or replaces a webhook. A new one delivers the events committed after it.
pub async fn put(s: &AppState, who: &Principal, id: &str, body: WebhookBody) -> Result<Saved<WebhookView>, Error> {
    who.require(Permission::Configure)?;
    let id = Id::parse("id", id)?;
    body.validate()?;
    let key = id.to_string();
    let saved = std::sync::Arc::new(body);
    let job = saved.clone();
    let created = s
        .store
        .write(move |txn| {
            let created = txn.put(Collection::Webhooks, &key, job.as_ref())?;
            if txn.delivery_cursor(&key)?.is_none() {
                let cursor = DeliveryCursor {
                    cursor: txn.last_event_id()?,
                    ..DeliveryCursor::default()
                };
                txn.put_delivery_cursor(&key, &cursor)?;
            }
            Ok::<_, StoreError>(created)
        })
        .await?;
    s.delivery.reload();
    let object = view(&s.store.read()?, id.as_str(), saved.as_ref().clone())?;
    Ok(Saved { created, object })
}

pub async fn get(s: &AppState, who: &Principal, id: &str) -> Result<WebhookView, Error> {
    who.require(Permission::ReadConfig)?;
    let txn = s.store.read()?;
    let body: WebhookBody = txn
        .get(Collection::Webhooks, id)?
        .ok_or_else(|| Error::not_found("webhook", id))?;
    view(&txn, id, body)
}

pub async fn list(s: &AppState, who: &Principal, q: PageQuery) -> Result<Page<WebhookView>, Error> {
    who.require(Permission::ReadConfig)?;
    let limit = q.limit()?;
    let txn = s.store.read()?;
    let all: Vec<(String, WebhookBody)> = txn.load_all(Collection::Webhooks)?;
    let mut page: Vec<(String, WebhookBody)> = all
        .into_iter()
        .filter(|(id, _)| q.after.as_deref().is_none_or(|a| id.as_str() > a))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more {
        page.last().map(|(id, _)| id.clone())
    } else {
        None
    };
    let items = page
        .into_iter()
        .map(|(id, body)| view(&txn, &id, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next })
}

/// Removes a webhook with its deliveries.
pub async fn delete(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    let key = id.to_string();
    let existed = s
        .store
        .write(move |txn| {
            let existed = txn.delete(Collection::Webhooks, &key)?;
            if existed {
                txn.delete_deliveries(&key)?;
            }
            Ok::<_, StoreError>(existed)
        })
        .await?;
    if !existed {
        return Err(Error::not_found("webhook", id));
    }
    s.delivery.reload();
    Ok(())
}

/// A webhook's deliveries, oldest event first; the cursor is the event id.
pub async fn deliveries(s: &AppState, who: &Principal, id: &str, q: PageQuery) -> Result<Page<DeliveryView>, Error> {
    who.require(Permission::ReadConfig)?;
    let limit = q.limit()?;
    let after = match q.after.as_deref() {
        None | Some("") => 0,
        Some(c) => parse_cursor("after", c)?,
    };
    let txn = s.store.read()?;
    if !txn.contains(Collection::Webhooks, id)? {
        return Err(Error::not_found("webhook", id));
    }
    let mut items = txn.deliveries(id, after, None, limit + 1)?;
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more {
        items.last().map(|d| d.event_id.clone())
    } else {
        None
    };
    Ok(Page {
        items: items.into_iter().map(DeliveryView::from).collect(),
        next,
    })
}

/// `POST /webhooks/{id}/redeliver`: one event, or every matching event after a cursor.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverBody {
    pub event_id: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RedeliverAnswer {
    pub webhook_id: String,
    /// `queued`: the deliveries are durably pending.
    pub status: &'static str,
}

pub async fn redeliver(s: &AppState, who: &Principal, id: &str, body: RedeliverBody) -> Result<RedeliverAnswer, Error> {
    who.require(Permission::Configure)?;
    let what = match (&body.event_id, &body.after) {
        (Some(e), None) => Redeliver::Event(parse_cursor("event_id", e)?),
        (None, Some(a)) => Redeliver::After(parse_cursor("after", a)?),
        _ => return Err(Error::validation("event_id", "give either event_id or after")),
    };
    if !s.store.read()?.contains(Collection::Webhooks, id)? {
        return Err(Error::not_found("webhook", id));
    }
    if let Redeliver::Event(event) = what
        && s.store.read()?.event(event)?.is_none()
    {
        return Err(Error::not_found("event", event.to_string()));
    }
    s.delivery.redeliver(id, what).await.map_err(Error::Internal)?;
    Ok(RedeliverAnswer {
        webhook_id: id.to_string(),
        status: "queued",
    })
}
