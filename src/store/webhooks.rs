//! Webhook delivery state: each webhook's cursor in the feed and its deliveries. The
//! webhooks themselves are a configuration [`super::Collection`].

use redb::ReadableTable;

use super::codec::{decode_json, encode_json};
use super::txn::{ReadTxn, WriteTxn};
use super::{StoreError, keys, tables};
use crate::domain::webhook::{Delivery, DeliveryCursor, DeliveryStatus};

fn delivery_key(webhook: &str, event: u64) -> Vec<u8> {
    keys::seq_key(webhook, event)
}

impl WriteTxn<'_> {
    pub fn put_delivery_cursor(&self, webhook: &str, cursor: &DeliveryCursor) -> Result<(), StoreError> {
        let bytes = encode_json(webhook, cursor)?;
        self.0
            .open_table(tables::WEBHOOK_STATE)?
            .insert(webhook, bytes.as_slice())?;
        Ok(())
    }

    pub fn delivery_cursor(&self, webhook: &str) -> Result<Option<DeliveryCursor>, StoreError> {
        let table = self.0.open_table(tables::WEBHOOK_STATE)?;
        table.get(webhook)?.map(|v| decode_json(webhook, v.value())).transpose()
    }

    pub fn put_delivery(&self, webhook: &str, d: &Delivery) -> Result<(), StoreError> {
        let key = delivery_key(webhook, d.event_seq());
        let bytes = encode_json(webhook, d)?;
        self.0
            .open_table(tables::DELIVERIES)?
            .insert(key.as_slice(), bytes.as_slice())?;
        Ok(())
    }

    /// Removes a webhook's cursor and deliveries (with the webhook).
    pub fn delete_deliveries(&self, webhook: &str) -> Result<(), StoreError> {
        self.0.open_table(tables::WEBHOOK_STATE)?.remove(webhook)?;
        let prefix = keys::scope_prefix(webhook);
        let end = keys::prefix_end(&prefix);
        self.0
            .open_table(tables::DELIVERIES)?
            .retain_in(prefix.as_slice()..end.as_slice(), |_, _| false)?;
        Ok(())
    }

    /// Removes a webhook's deliveries of events up to `last` (pruned from the feed).
    pub fn prune_deliveries(&self, webhook: &str, last: u64) -> Result<(), StoreError> {
        let prefix = keys::scope_prefix(webhook);
        let end = delivery_key(webhook, last.saturating_add(1));
        self.0
            .open_table(tables::DELIVERIES)?
            .retain_in(prefix.as_slice()..end.as_slice(), |_, _| false)?;
        Ok(())
    }
}

impl ReadTxn {
    pub fn delivery_cursor(&self, webhook: &str) -> Result<Option<DeliveryCursor>, StoreError> {
        let table = self.0.open_table(tables::WEBHOOK_STATE)?;
        table.get(webhook)?.map(|v| decode_json(webhook, v.value())).transpose()
    }

    /// A webhook's deliveries after event `after`, oldest event first, up to `limit`
    /// (only those of `status`, when given).
    pub fn deliveries(
        &self,
        webhook: &str,
        after: u64,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let table = self.0.open_table(tables::DELIVERIES)?;
        let start = delivery_key(webhook, after.saturating_add(1));
        let end = keys::prefix_end(&keys::scope_prefix(webhook));
        let mut out = Vec::new();
        for row in table.range(start.as_slice()..end.as_slice())? {
            let (_, v) = row?;
            let d: Delivery = decode_json(webhook, v.value())?;
            if status.is_none_or(|s| s == d.status) {
                out.push(d);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}
