//! The `scripts/` catalogue: every `.rhai` file compiles for its kind, passes its record
//! type's schema when its cases file declares one, and gives the expected answer on every
//! sample case, through the same `ops::scripts::evaluate` the check endpoint uses. A
//! script without cases, a cases file without a script, or a script missing from
//! `scripts/README.md` fails.

use std::path::{Path, PathBuf};

use allot::domain::RecordType;
use allot::domain::config::RecordTypeSchema;
use allot::ops::scripts::{CheckKind, ScriptCheck, evaluate};
use allot::scripting::Scripting;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    kind: CheckKind,
    #[serde(default)]
    record_type: Option<String>,
    #[serde(default)]
    schema: Option<RecordTypeSchema>,
    #[serde(default)]
    now: Option<DateTime<Utc>>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    record: Option<Value>,
    #[serde(default)]
    seller: Option<Value>,
    #[serde(default)]
    candidates: Option<Value>,
    expect: Value,
}

fn catalogue() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

fn files_with(ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(catalogue())
        .expect("scripts/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// Runs one script's cases; answers the failures.
fn run_script(scripting: &Scripting, script: &Path) -> Vec<String> {
    let name = script
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = match std::fs::read_to_string(script) {
        Ok(s) => s,
        Err(e) => return vec![format!("{name}: cannot read: {e}")],
    };
    let cases_path = script.with_extension("json");
    let cases: CasesFile = match std::fs::read(&cases_path) {
        Err(_) => return vec![format!("{name}: has no cases file {}", cases_path.display())],
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => return vec![format!("{name}: its cases file does not parse: {e}")],
        },
    };
    if cases.cases.is_empty() {
        return vec![format!("{name}: has no cases")];
    }
    let record_type = match cases
        .record_type
        .as_deref()
        .map(|rt| RecordType::parse("record_type", rt))
    {
        None => None,
        Some(Ok(rt)) => Some(rt),
        Some(Err(e)) => return vec![format!("{name}: record_type: {e}")],
    };
    if cases.schema.is_some() && record_type.is_none() {
        return vec![format!("{name}: a schema needs the record_type it belongs to")];
    }
    let schema = record_type.as_ref().zip(cases.schema.as_ref());
    let now = cases
        .now
        .unwrap_or_else(|| "2026-11-23T12:00:00Z".parse().expect("a valid default instant"));

    let mut failures = Vec::new();
    for case in &cases.cases {
        let mut body = json!({"kind": cases.kind, "source": source});
        for (field, value) in [
            ("record", &case.record),
            ("seller", &case.seller),
            ("candidates", &case.candidates),
        ] {
            if let Some(v) = value {
                body[field] = v.clone();
            }
        }
        if let Some(rt) = &cases.record_type {
            body["record_type"] = json!(rt);
        }
        let check: ScriptCheck = match serde_json::from_value(body) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name} / {}: the case does not parse: {e}", case.name));
                continue;
            }
        };
        match evaluate(scripting, check, schema, now) {
            Ok(answer) if answer.result == case.expect => {}
            Ok(answer) => failures.push(format!(
                "{name} / {}: expected {}, got {}",
                case.name, case.expect, answer.result
            )),
            Err(e) => failures.push(format!("{name} / {}: expected {}, failed: {e}", case.name, case.expect)),
        }
    }
    failures
}

#[test]
fn every_catalogue_script_gives_its_expected_answers() {
    let scripting = Scripting::new();
    let scripts = files_with("rhai");
    assert!(
        scripts.len() >= 7,
        "the catalogue has at least 7 scripts, found {}",
        scripts.len()
    );
    let failures: Vec<String> = scripts.iter().flat_map(|s| run_script(&scripting, s)).collect();
    assert!(failures.is_empty(), "catalogue failures:\n{}", failures.join("\n"));
}

#[test]
fn every_cases_file_has_its_script() {
    let orphans: Vec<PathBuf> = files_with("json")
        .into_iter()
        .filter(|j| !j.with_extension("rhai").exists())
        .collect();
    assert!(orphans.is_empty(), "cases files without a script: {orphans:?}");
}

#[test]
fn the_readme_lists_every_script() {
    let readme = std::fs::read_to_string(catalogue().join("README.md")).expect("scripts/README.md exists");
    let missing: Vec<String> = files_with("rhai")
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !readme.contains(&format!("| `{n}` |")))
        .collect();
    assert!(missing.is_empty(), "scripts/README.md does not list {missing:?}");
}

#[test]
fn a_case_with_the_wrong_answer_is_caught() {
    // The runner itself must be able to fail: a copy of a catalogue script whose case
    // expects the opposite answer.
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("wrong.rhai");
    std::fs::write(&script, r#"record.country == "UK""#).expect("write script");
    std::fs::write(
        dir.path().join("wrong.json"),
        r#"{"kind": "condition", "cases": [{"name": "UK", "record": {"attributes": {"country": "UK"}}, "expect": false}]}"#,
    )
    .expect("write cases");
    let failures = run_script(&Scripting::new(), &script);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("expected false, got true"), "{failures:?}");

    std::fs::write(dir.path().join("wrong.json"), r#"{"kind": "condition", "cases": []}"#).expect("write cases");
    assert_eq!(run_script(&Scripting::new(), &script), ["wrong.rhai: has no cases"]);
}
