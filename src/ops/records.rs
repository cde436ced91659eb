//! Record operations: ingest, status, monitor views, close/reopen, summaries, runs.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::PageQuery;
use super::config::fetch;
use crate::actors::history::{GetRun, ListRuns};
use crate::actors::mailbox;
use crate::actors::records::{Ingest, Ingested, RunSegment, SetOpen};
use crate::actors::segment::KnownRecordTypes;
use crate::auth::{Permission, Principal};
use crate::domain::Page;
use crate::domain::config::{Segment, Settings};
use crate::domain::record::{RecordInput, StatusView, View};
use crate::domain::run::{Run, RunTrigger};
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::json::from_value;
use crate::pipeline::engine;
use crate::state::AppState;
use crate::store::{ReadTxn, Scope};

/// Most records one `POST /records` may carry.
pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestAnswer {
    pub accepted: usize,
    /// One status view per record sent, in the order sent.
    #[schema(value_type = Vec<StatusView>)]
    pub records: Ingested,
}

/// The body of `POST /records`: one record, or `{"records": [...]}`. A batch is read in
/// one streaming pass, typed, through the strict reader (no `Value` in between: a batch
/// of 1000 leads is the ingest path's largest input); a single record is kept as a
/// `Value` (telling it from a batch needs its keys) and read like any body.
enum IngestBody {
    Batch(Vec<RecordInput>),
    Single(serde_json::Map<String, Value>),
}

impl<'de> Deserialize<'de> for IngestBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<IngestBody, D::Error> {
        deserializer.deserialize_map(IngestBodyVisitor)
    }
}

struct IngestBodyVisitor;

impl<'de> serde::de::Visitor<'de> for IngestBodyVisitor {
    type Value = IngestBody;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("struct RecordInput")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<IngestBody, A::Error> {
        use serde::de::Error as _;
        let mut records: Option<Vec<RecordInput>> = None;
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "records" {
                if records.is_some() {
                    return Err(A::Error::duplicate_field("records"));
                }
                records = Some(map.next_value()?);
            } else if fields.contains_key(&key) {
                // As the typed read of a batch's records refuses it (serde's wording).
                return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
            } else {
                fields.insert(key, map.next_value()?);
            }
        }
        match (records, fields.keys().next()) {
            (Some(_), Some(other)) => Err(A::Error::unknown_field(other, &["records"])),
            (Some(records), None) => Ok(IngestBody::Batch(records)),
            (None, _) => Ok(IngestBody::Single(fields)),
        }
    }
}

/// Parses the ingest body and checks the batch size, naming the failing field. Answers
/// the records and whether they came as `{"records": [...]}`.
pub fn parse_ingest_body(bytes: &[u8]) -> Result<(Vec<RecordInput>, bool), Error> {
    let (records, batch) = match crate::json::parse_json::<IngestBody>(bytes)? {
        IngestBody::Batch(records) => (records, true),
        IngestBody::Single(fields) => (vec![from_value::<RecordInput>(Value::Object(fields))?], false),
    };
    if records.is_empty() {
        return Err(Error::validation("records", "send at least one record"));
    }
    if records.len() > MAX_BATCH {
        return Err(Error::validation(
            "records",
            format!("at most {MAX_BATCH} records per request, got {}", records.len()),
        ));
    }
    Ok((records, batch))
}

/// The ingest message, with each record segmented here, on the HTTP worker: segment
/// conditions read only the record, and the workers are otherwise idle while the seller
/// actor, which all record changes go through, is the busiest thread (docs/perf-notes.md).
fn presegmented(s: &AppState, records: Vec<RecordInput>, wait: bool, batch: bool) -> Ingest {
    let received_at = s.clock.now();
    let catalog = s.catalog.current();
    let presegmented = records
        .iter()
        .map(|r| Some(engine::presegment(&catalog, &s.scripting, r, received_at)))
        .collect();
    Ingest {
        records,
        presegmented,
        received_at: Some(received_at),
        wait,
        batch,
    }
}

pub async fn ingest(s: &AppState, who: &Principal, body: &[u8], wait: bool) -> Result<IngestAnswer, Error> {
    who.require(Permission::WriteRecords)?;
    let (records, batch) = parse_ingest_body(body)?;
    let accepted = records.len();
    let ingested = s
        .records
        .send(presegmented(s, records, wait, batch))
        .await
        .map_err(mailbox)??;
    Ok(IngestAnswer {
        accepted,
        records: ingested,
    })
}

pub fn get_record(s: &AppState, who: &Principal, id: &str) -> Result<StatusView, Error> {
    who.require(Permission::ReadRecords)?;
    let id = Id::parse("id", id)?;
    let txn = s.store.read()?;
    let rec = txn
        .record(id.as_str())?
        .ok_or_else(|| Error::not_found("record", id.to_string()))?;
    Ok(rec.status_view(s.clock.now()))
}

pub async fn set_open(s: &AppState, who: &Principal, id: &str, open: bool) -> Result<StatusView, Error> {
    who.require(Permission::WriteRecords)?;
    let id = Id::parse("id", id)?;
    s.records.send(SetOpen { id, open }).await.map_err(mailbox)?
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecordListQuery {
    #[param(value_type = Option<crate::domain::RecordType>)]
    pub record_type: Option<String>,
    /// `to_be_processed`, `processed` (default), `unassigned` or `needs_attention`.
    pub view: Option<View>,
    #[param(value_type = Option<crate::domain::Id>)]
    pub segment_id: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// Status views of a monitor view, oldest `created_on` first.
pub fn list_records(s: &AppState, who: &Principal, q: &RecordListQuery) -> Result<Page<StatusView>, Error> {
    who.require(Permission::ReadRecords)?;
    let limit = PageQuery::limit_of(q.limit)?;
    let view = q.view.unwrap_or(View::Processed);
    let record_type = q
        .record_type
        .as_deref()
        .map(|t| RecordType::parse("record_type", t))
        .transpose()?;
    let segment_id = q
        .segment_id
        .as_deref()
        .map(|seg| Id::parse("segment_id", seg))
        .transpose()?;
    let scope = match (&segment_id, &record_type) {
        (Some(seg), _) => Scope::Segment(seg.as_str()),
        (None, Some(rt)) => Scope::Type(rt.as_str()),
        (None, None) => {
            return Err(Error::validation("record_type", "give a record_type or a segment_id"));
        }
    };
    let after = q
        .after
        .as_deref()
        .map(|c| hex::decode(c).map_err(|_| Error::validation("after", "not a cursor of this list")))
        .transpose()?;
    let txn = s.store.read()?;
    let (ids, next) = txn.view_page(scope, view, after.as_deref(), limit)?;
    let records = txn.records()?;
    let now = s.clock.now();
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(rec) = records.get(&id)?
            && record_type.as_ref().is_none_or(|rt| *rt == rec.record_type)
        {
            items.push(rec.status_view(now));
        }
    }
    Ok(Page {
        items,
        next: next.map(hex::encode),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub to_be_processed: u64,
    pub processed: u64,
    pub unassigned: u64,
    pub needs_attention: u64,
    /// The red dot: some record of this type is unassigned.
    pub has_unassigned: bool,
}

fn summary_of(txn: &ReadTxn, rt: &RecordType) -> Result<Summary, Error> {
    let scope = Scope::Type(rt.as_str());
    let unassigned = txn.view_count(scope, View::Unassigned)?;
    Ok(Summary {
        to_be_processed: txn.view_count(scope, View::ToBeProcessed)?,
        processed: txn.view_count(scope, View::Processed)?,
        unassigned,
        needs_attention: txn.view_count(scope, View::NeedsAttention)?,
        has_unassigned: unassigned > 0,
    })
}

pub fn summary(s: &AppState, who: &Principal, record_type: &str) -> Result<Summary, Error> {
    who.require(Permission::ReadRecords)?;
    let rt = RecordType::parse("record_type", record_type)?;
    let txn = s.store.read()?;
    summary_of(&txn, &rt)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordTypeSummary {
    pub record_type: RecordType,
    #[serde(flatten)]
    pub summary: Summary,
}

/// Every record type that has records, segments or a schema.
pub async fn list_record_types(s: &AppState, who: &Principal) -> Result<Vec<RecordTypeSummary>, Error> {
    who.require(Permission::ReadRecords)?;
    let mut types: BTreeSet<RecordType> = s
        .segments
        .send(KnownRecordTypes)
        .await
        .map_err(mailbox)?
        .into_iter()
        .collect();
    let txn = s.store.read()?;
    types.extend(txn.record_types_with_records()?);
    types
        .into_iter()
        .map(|rt| {
            Ok(RecordTypeSummary {
                summary: summary_of(&txn, &rt)?,
                record_type: rt,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// At most this many records, 1 to 1,000,000 (default: the `max_records_per_run` setting).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub limit: Option<u32>,
}

pub async fn run_now(s: &AppState, who: &Principal, segment_id: &str, req: RunRequest) -> Result<Run, Error> {
    who.require(Permission::Configure)?;
    let segment_id = Id::parse("id", segment_id)?;
    // The same range as the `max_records_per_run` setting; a limit past it was cut down
    // silently, which hid a typo (an extra zero) behind a run of another size.
    if let Some(limit) = req.limit
        && !(1..=Settings::RUN_LIMIT_MAX).contains(&limit)
    {
        return Err(Error::validation(
            "limit",
            format!("limit is 1 to {}, got {limit}", Settings::RUN_LIMIT_MAX),
        ));
    }
    s.records
        .send(RunSegment {
            segment_id,
            limit: req.limit,
            trigger: RunTrigger::Manual,
            actor: who.id.clone(),
        })
        .await
        .map_err(mailbox)?
}

/// A segment's runs, newest first. `not_found` when the segment does not exist, like
/// its rules and schedule; the runs of a deleted segment stay readable one by one
/// (`GET /runs/{id}`), and their changes stay in assignment history.
pub async fn list_runs(s: &AppState, who: &Principal, segment_id: &str, q: &PageQuery) -> Result<Page<Run>, Error> {
    who.require(Permission::ReadConfig)?;
    let segment_id = Id::parse("id", segment_id)?;
    let limit = q.limit()?;
    fetch::<Segment>(s, segment_id.clone()).await?;
    s.history
        .send(ListRuns {
            segment_id,
            after: q.after.clone(),
            limit,
        })
        .await
        .map_err(mailbox)?
}

pub async fn get_run(s: &AppState, who: &Principal, id: &str) -> Result<Run, Error> {
    who.require(Permission::ReadConfig)?;
    s.history.send(GetRun(id.to_string())).await.map_err(mailbox)?
}
