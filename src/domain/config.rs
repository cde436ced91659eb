//! Configuration objects of the API contract: sellers, teams, queues, sequences,
//! segments, rules, settings and record-type schemas. Serde rejects unknown fields and
//! wrong types; `validate` checks what types cannot say (ranges, times, zones).
//! References to other objects are checked by the actor that saves them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::Invalid;
use super::ids::{Id, RecordType};

mod schema;
pub use schema::{AttributeType, RecordTypeSchema};

pub type Attributes = Map<String, Value>;

fn default_true() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Seller {
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Record types the seller may read; null means all.
    #[serde(default)]
    pub record_access: Option<Vec<RecordType>>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    #[serde(default = "default_true")]
    pub assign_records: bool,
    /// Most open records the seller may own; null means unlimited.
    #[serde(default)]
    #[schema(maximum = 1_000_000_000)]
    pub capacity: Option<u64>,
    /// Null means always available.
    #[serde(default)]
    pub availability: Option<Availability>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// IANA time zone, e.g. `Europe/London`.
    pub timezone: String,
    /// Per weekday (`mon` … `sun`), `[start, end)` intervals in local `HH:MM`.
    /// Null means every hour of every day; a weekday left out is a day off.
    #[serde(default)]
    pub working_hours: Option<BTreeMap<Weekday, Vec<[String; 2]>>>,
    #[serde(default)]
    pub time_off: Vec<TimeOff>,
}

/// Read through a string (not as an enum) so that a bad day, or a bad interval under a
/// day, is reported at `working_hours.<day>`: a map key read as an enum loses its name.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl TryFrom<String> for Weekday {
    type Error = String;

    fn try_from(day: String) -> Result<Weekday, String> {
        Ok(match day.as_str() {
            "mon" => Weekday::Mon,
            "tue" => Weekday::Tue,
            "wed" => Weekday::Wed,
            "thu" => Weekday::Thu,
            "fri" => Weekday::Fri,
            "sat" => Weekday::Sat,
            "sun" => Weekday::Sun,
            _ => {
                return Err(format!(
                    "{day:?} is not a weekday; use mon, tue, wed, thu, fri, sat or sun"
                ));
            }
        })
    }
}

impl Weekday {
    pub fn from_chrono(d: chrono::Weekday) -> Weekday {
        match d {
            chrono::Weekday::Mon => Weekday::Mon,
            chrono::Weekday::Tue => Weekday::Tue,
            chrono::Weekday::Wed => Weekday::Wed,
            chrono::Weekday::Thu => Weekday::Thu,
            chrono::Weekday::Fri => Weekday::Fri,
            chrono::Weekday::Sat => Weekday::Sat,
            chrono::Weekday::Sun => Weekday::Sun,
        }
    }

    pub fn to_chrono(self) -> chrono::Weekday {
        match self {
            Weekday::Mon => chrono::Weekday::Mon,
            Weekday::Tue => chrono::Weekday::Tue,
            Weekday::Wed => chrono::Weekday::Wed,
            Weekday::Thu => chrono::Weekday::Thu,
            Weekday::Fri => chrono::Weekday::Fri,
            Weekday::Sat => chrono::Weekday::Sat,
            Weekday::Sun => chrono::Weekday::Sun,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeOff {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Parses `HH:MM` (00:00–23:59, or 24:00 as an interval end).
pub fn parse_hhmm(field: &str, raw: &str, allow_24: bool) -> Result<NaiveTime, Invalid> {
    let bad = || {
        Invalid::new(
            field,
            format!("{raw:?} is not a time; write HH:MM on a 24-hour clock, e.g. \"09:30\""),
        )
    };
    if raw.len() != 5 || raw.as_bytes()[2] != b':' {
        return Err(bad());
    }
    if allow_24 && raw == "24:00" {
        return NaiveTime::from_hms_nano_opt(23, 59, 59, 1_999_999_999).ok_or_else(bad);
    }
    NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| bad())
}

pub fn parse_timezone(field: &str, raw: &str) -> Result<chrono_tz::Tz, Invalid> {
    raw.parse::<chrono_tz::Tz>().map_err(|_| {
        Invalid::new(
            field,
            format!("{raw:?} is not an IANA time zone; use a name such as \"Europe/London\""),
        )
    })
}

/// 1 to 256 characters (not bytes: as the document's `maxLength` counts), not all blank.
fn require_name(field: &str, name: &str) -> Result<(), Invalid> {
    if name.trim().is_empty() || name.chars().count() > 256 {
        return Err(Invalid::new(field, "a name has 1 to 256 characters"));
    }
    Ok(())
}

impl Seller {
    /// A billion: far past any seller's workload, and `available_capacity` (capacity
    /// minus open records, signed) cannot overflow.
    pub const MAX_CAPACITY: u64 = 1_000_000_000;

    pub fn validate(&self) -> Result<(), Invalid> {
        require_name("name", &self.name)?;
        if self.capacity.is_some_and(|c| c > Self::MAX_CAPACITY) {
            return Err(Invalid::new(
                "capacity",
                format!("capacity is 0 to {}, or null (unlimited)", Self::MAX_CAPACITY),
            ));
        }
        for (i, role) in self.roles.iter().enumerate() {
            if role.trim().is_empty() {
                return Err(Invalid::new(format!("roles[{i}]"), "a role is a non-empty string"));
            }
        }
        if let Some(a) = &self.availability {
            a.validate("availability")?;
        }
        Ok(())
    }
}

impl Availability {
    pub fn validate(&self, at: &str) -> Result<(), Invalid> {
        parse_timezone(&format!("{at}.timezone"), &self.timezone)?;
        if let Some(hours) = &self.working_hours {
            for (day, intervals) in hours {
                let day = serde_json::to_value(day)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                for (i, [start, end]) in intervals.iter().enumerate() {
                    let field = format!("{at}.working_hours.{day}[{i}]");
                    let s = parse_hhmm(&field, start, false)?;
                    let e = parse_hhmm(&field, end, true)?;
                    if s >= e {
                        return Err(Invalid::new(field, "an interval's start must be before its end"));
                    }
                }
            }
        }
        for (i, off) in self.time_off.iter().enumerate() {
            if off.start >= off.end {
                return Err(Invalid::new(
                    format!("{at}.time_off[{i}]"),
                    "time off must start before it ends",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Team {
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    #[serde(default)]
    pub members: Vec<Id>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Attributes,
}

impl Team {
    pub fn validate(&self) -> Result<(), Invalid> {
        require_name("name", &self.name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Attributes,
}

impl Queue {
    pub fn validate(&self) -> Result<(), Invalid> {
        require_name("name", &self.name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default)]
    pub steps: Vec<SequenceStep>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SequenceStep {
    pub kind: StepKind,
    #[serde(default)]
    pub description: String,
    /// Hours a wait step waits: 1 to 8760 (a year).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 8760)]
    pub wait_hours: Option<u32>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Email,
    Call,
    Task,
    Wait,
}

impl SequenceStep {
    /// A year: a longer wait is a typo, not a follow-up.
    pub const MAX_WAIT_HOURS: u32 = 8760;
}

impl Sequence {
    pub fn validate(&self) -> Result<(), Invalid> {
        require_name("name", &self.name)?;
        for (i, step) in self.steps.iter().enumerate() {
            if step.kind == StepKind::Wait && step.wait_hours.is_none() {
                return Err(Invalid::new(
                    format!("steps[{i}].wait_hours"),
                    "a wait step needs wait_hours",
                ));
            }
            if let Some(h) = step.wait_hours
                && !(1..=SequenceStep::MAX_WAIT_HOURS).contains(&h)
            {
                return Err(Invalid::new(
                    format!("steps[{i}].wait_hours"),
                    format!("wait_hours is 1 to {}, or null", SequenceStep::MAX_WAIT_HOURS),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    pub record_type: RecordType,
    /// 1 is tried first; ties by id.
    #[schema(minimum = 1)]
    pub priority: u32,
    #[serde(default = "default_true")]
    pub active: bool,
    /// rhai; empty or null matches every record.
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub sequence_id: Option<Id>,
    #[serde(default)]
    pub accept_previously_segmented: bool,
    #[serde(default)]
    pub run_rules_on_move: bool,
}

impl Segment {
    pub fn validate(&self) -> Result<(), Invalid> {
        require_name("name", &self.name)?;
        if self.priority < 1 {
            return Err(Invalid::new("priority", "priority is an integer of at least 1"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    #[schema(minimum = 1)]
    pub priority: u32,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 87600)]
    pub created_within_hours: Option<u32>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 87600)]
    pub assignment_window_hours: Option<u32>,
    pub assign_to: AssignTo,
    pub distribution: Distribution,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AssignTo {
    #[serde(rename = "type")]
    pub kind: TargetKind,
    #[serde(rename = "match")]
    pub matching: TargetMatch,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub ids: Vec<Id>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Sellers,
    Team,
    Queue,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetMatch {
    Any,
    Condition,
    Ids,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    pub method: DistributionMethod,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 120)]
    pub available_within_hours: Option<u32>,
    #[serde(default)]
    pub use_capacity: bool,
    #[serde(default)]
    pub script: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DistributionMethod {
    RoundRobin,
    LoadBalancing,
    Script,
    Single,
    Random,
}

impl Rule {
    pub fn validate(&self) -> Result<(), Invalid> {
        require_name("name", &self.name)?;
        if self.priority < 1 {
            return Err(Invalid::new("priority", "priority is an integer of at least 1"));
        }
        // Ten years: beyond it a window means nothing and date arithmetic could overflow.
        const MAX_HOURS: u32 = 87_600;
        if self.created_within_hours.is_some_and(|h| !(1..=MAX_HOURS).contains(&h)) {
            return Err(Invalid::new(
                "created_within_hours",
                format!("created_within_hours is 1 to {MAX_HOURS}, or null"),
            ));
        }
        if self
            .assignment_window_hours
            .is_some_and(|h| !(1..=MAX_HOURS).contains(&h))
        {
            return Err(Invalid::new(
                "assignment_window_hours",
                format!("assignment_window_hours is 1 to {MAX_HOURS}, or null"),
            ));
        }
        let to = &self.assign_to;
        match to.matching {
            TargetMatch::Condition => {
                if to.condition.as_deref().is_none_or(|c| c.trim().is_empty()) {
                    return Err(Invalid::new(
                        "assign_to.condition",
                        "match \"condition\" needs a condition script",
                    ));
                }
            }
            TargetMatch::Ids => {
                if to.ids.is_empty() {
                    return Err(Invalid::new("assign_to.ids", "match \"ids\" needs at least one id"));
                }
            }
            TargetMatch::Any => {}
        }
        if to.matching != TargetMatch::Ids && !to.ids.is_empty() {
            return Err(Invalid::new("assign_to.ids", "ids are only used with match \"ids\""));
        }
        let d = &self.distribution;
        let method_ok = match to.kind {
            TargetKind::Sellers => matches!(
                d.method,
                DistributionMethod::RoundRobin | DistributionMethod::LoadBalancing | DistributionMethod::Script
            ),
            TargetKind::Team | TargetKind::Queue => {
                matches!(d.method, DistributionMethod::Single | DistributionMethod::Random)
            }
        };
        if !method_ok {
            let allowed = match to.kind {
                TargetKind::Sellers => "round_robin, load_balancing or script",
                _ => "single or random",
            };
            return Err(Invalid::new(
                "distribution.method",
                format!("for this assign_to.type the method is one of {allowed}"),
            ));
        }
        if d.method == DistributionMethod::Script {
            if d.script.as_deref().is_none_or(|s| s.trim().is_empty()) {
                return Err(Invalid::new("distribution.script", "method \"script\" needs a script"));
            }
        } else if d.script.is_some() {
            return Err(Invalid::new(
                "distribution.script",
                "a script is only used with method \"script\"",
            ));
        }
        if let Some(h) = d.available_within_hours
            && !(1..=120).contains(&h)
        {
            return Err(Invalid::new(
                "distribution.available_within_hours",
                "available_within_hours is 1 to 120, or null",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default = "Settings::default_max_records_per_run")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_records_per_run: u32,
    /// Null means every seller role is eligible.
    #[serde(default)]
    pub eligible_roles: Option<Vec<String>>,
    #[serde(default)]
    pub round_robin_scope: RoundRobinScope,
    /// How long the change feed keeps its events (1 to 3650 days).
    #[serde(default = "Settings::default_event_retention_days")]
    pub event_retention_days: u32,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RoundRobinScope {
    #[default]
    Organization,
    Rule,
}

impl Settings {
    /// The most records one run may take, whatever a request asks.
    pub const RUN_LIMIT_MAX: u32 = 1_000_000;

    fn default_max_records_per_run() -> u32 {
        500
    }

    fn default_event_retention_days() -> u32 {
        7
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=Self::RUN_LIMIT_MAX).contains(&self.max_records_per_run) {
            return Err(Invalid::new(
                "max_records_per_run",
                format!("max_records_per_run is 1 to {}", Self::RUN_LIMIT_MAX),
            ));
        }
        if !(1..=3650).contains(&self.event_retention_days) {
            return Err(Invalid::new(
                "event_retention_days",
                "event_retention_days is 1 to 3650",
            ));
        }
        // As a seller's roles: a blank role could never match one.
        for (i, role) in self.eligible_roles.iter().flatten().enumerate() {
            if role.trim().is_empty() {
                return Err(Invalid::new(
                    format!("eligible_roles[{i}]"),
                    "an eligible role is a non-empty string",
                ));
            }
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_records_per_run: Self::default_max_records_per_run(),
            eligible_roles: None,
            round_robin_scope: RoundRobinScope::Organization,
            event_retention_days: Self::default_event_retention_days(),
        }
    }
}
