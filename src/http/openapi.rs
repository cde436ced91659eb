//! The contract document (`GET /openapi.json`, `allot openapi`): what utoipa collects
//! from the route annotations, made exact by rules that hold for every route, so that no
//! route can forget them:
//!
//! - every response has a `description`;
//! - every secured operation documents 401 (with `WWW-Authenticate`); an operation with
//!   a path parameter 404 and 422 (a malformed id); with query parameters 422; with a
//!   body 400 (`invalid_json`), 413, 422 and 503 `unavailable` with `Retry-After` (the
//!   in-flight bound, `admission.rs`); every operation 500;
//! - path parameters are an `Id` (or a `RecordType` for `{record_type}`) with the
//!   pattern the server parses;
//! - schemas composed with `allOf` (a body plus what the server adds) are flattened into
//!   one closed object: `additionalProperties: false` inside an `allOf` part refuses the
//!   other parts' properties, so the answers failed their own schema;
//! - every response carries the `X-Request-Id` header; a `PUT` links to the operations
//!   that read what it saved, a run to `GET /runs/{id}`.
//!
//! What a route must carry itself: its success responses with bodies, 403 when some role
//! may not call it (`tests/it/authz_matrix.rs` checks both ways against the role table),
//! 404/409/422 beyond the rules above, and an example on its main bodies. `tests/contract`
//! runs an OpenAPI validator and schemathesis against the result.

use serde_json::{Map, Value, json};

/// The document of `api`, made exact (see the module documentation).
pub fn finish(api: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
    add_components(&mut doc);
    add_constraints(&mut doc);
    bound_unsigned(&mut doc);
    add_links(&mut doc);
    add_request_id_headers(&mut doc);
    flatten_all_of(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                if matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch") {
                    finish_operation(op);
                }
            }
        }
    }
    doc
}

fn add_components(doc: &mut Value) {
    let components = entry_object(doc, "components");
    let schemas = entry_map(components, "schemas");
    schemas.insert(
        "Id".into(),
        json!({
            "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9_.:-]+$",
            "description": "A client-chosen id: 1 to 128 characters from `A-Za-z0-9_.:-`.",
            "example": "lead-1"
        }),
    );
    schemas.insert(
        "RecordType".into(),
        json!({
            "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z][a-z0-9_]*$",
            "description": "A lower-case identifier such as `lead`.",
            "example": "lead"
        }),
    );
    schemas.insert(
        "TimeZone".into(),
        json!({
            "type": "string",
            "enum": chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect::<Vec<_>>(),
            "description": "An IANA time zone name, as the server's zone database knows it.",
            "example": "Europe/London"
        }),
    );
    schemas.insert(
        "View".into(),
        json!({
            "type": "string",
            "enum": ["to_be_processed", "processed", "unassigned", "needs_attention"],
            "description": "A monitor view."
        }),
    );
    let responses = entry_map(components, "responses");
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}});
    let mut add = |name: &str, description: &str, headers: Option<Value>| {
        let mut r = json!({"description": description, "content": error.clone()});
        if let Some(h) = headers {
            r["headers"] = h;
        }
        responses.insert(name.into(), r);
    };
    add("InvalidJson", "`invalid_json`: the body is not JSON", None);
    add(
        "Unauthorized",
        "`unauthorized`: no valid bearer token",
        Some(json!({"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}})),
    );
    add("NotFound", "`not_found`: no such object", None);
    add("PayloadTooLarge", "`payload_too_large`: the body is over 16 MiB", None);
    add(
        "Unprocessable",
        "`validation_failed` (naming the field) or `script_error` (with line and column)",
        None,
    );
    add(
        "Unavailable",
        "`unavailable`: the server holds as many request bytes as it may; retry after `Retry-After` seconds",
        Some(json!({"Retry-After": {"schema": {"type": "integer", "minimum": 1}}})),
    );
    add(
        "Internal",
        "`internal`: the server failed; the message says nothing of its internals",
        None,
    );
}

/// What the server checks that utoipa's attributes cannot say.
fn add_constraints(doc: &mut Value) {
    let zone = json!({"$ref": "#/components/schemas/TimeZone"});
    let patches = [
        ("/components/schemas/ScheduleBody/properties/timezone", zone.clone()),
        ("/components/schemas/Availability/properties/timezone", zone),
        // Distinct times: two equal times are refused.
        (
            "/components/schemas/ScheduleBody/properties/times",
            json!({"uniqueItems": true}),
        ),
        (
            "/components/schemas/RecordTypeSchema/properties/attributes",
            json!({"propertyNames": {"minLength": 1, "maxLength": 128,
                "not": {"enum": crate::domain::config::RecordTypeSchema::BUILTIN_FIELDS}}}),
        ),
    ];
    for (pointer, patch) in patches {
        if let (Some(Value::Object(target)), Value::Object(patch)) = (doc.pointer_mut(pointer), patch) {
            target.extend(patch);
        }
    }
}

/// OpenAPI links, so that a client (and schemathesis' stateful phase) knows which
/// operations read what another made: a `PUT` of a path links to every operation on that
/// path and below it whose parameters it names (by position: `/segments/{id}` gives
/// `{sid}` of `/segments/{sid}/rules`), and a run to `GET /runs/{id}`.
fn add_links(doc: &mut Value) {
    let mut ops: Vec<(String, String, String)> = Vec::new(); // path, method, operationId
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                ops.push((path.clone(), method.clone(), id.to_string()));
            }
        }
    }
    let params = |path: &str| -> Vec<String> {
        path.split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect()
    };
    let shape = |path: &str| -> String {
        path.split('/')
            .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    };
    for (path, method, id) in &ops {
        let mut links = Map::new();
        if method == "put" {
            let mine = params(path);
            for (other, other_method, other_id) in &ops {
                let theirs = params(other);
                let below = shape(other) == shape(path) || shape(other).starts_with(&format!("{}/", shape(path)));
                if other_id == id || !below || theirs.len() != mine.len() || theirs.is_empty() || other_method == "put"
                {
                    continue;
                }
                let parameters: Map<String, Value> = theirs
                    .iter()
                    .zip(&mine)
                    .map(|(t, m)| (t.clone(), Value::String(format!("$request.path.{m}"))))
                    .collect();
                links.insert(
                    other_id.clone(),
                    json!({"operationId": other_id, "parameters": parameters}),
                );
            }
        }
        if id == "run_now" {
            links.insert(
                "get_run".into(),
                json!({"operationId": "get_run", "parameters": {"id": "$response.body#/id"}}),
            );
        }
        if links.is_empty() {
            continue;
        }
        let pointer = format!(
            "/paths/{}/{method}/responses",
            path.replace('~', "~0").replace('/', "~1")
        );
        if let Some(Value::Object(responses)) = doc.pointer_mut(&pointer) {
            for (status, response) in responses.iter_mut() {
                if status.starts_with('2')
                    && let Value::Object(r) = response
                    && !r.contains_key("$ref")
                {
                    r.insert("links".into(), Value::Object(links.clone()));
                }
            }
        }
    }
}

/// Every answer carries `X-Request-Id` (`access.rs`): documented on every response.
fn add_request_id_headers(doc: &mut Value) {
    let header = json!({
        "description": "The request's id: the client's `X-Request-Id` when it is 1 to 128 visible ASCII characters, else one the server made.",
        "required": true,
        "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"}
    });
    let add = |r: &mut Value| {
        if let Value::Object(r) = r
            && !r.contains_key("$ref")
        {
            entry_map(r, "headers").insert("X-Request-Id".into(), header.clone());
        }
    };
    if let Some(Value::Object(components)) = doc.pointer_mut("/components/responses") {
        components.values_mut().for_each(add);
    }
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut() {
                if let Some(Value::Object(rs)) = op.get_mut("responses") {
                    rs.values_mut().for_each(add);
                }
            }
        }
    }
}

/// utoipa writes a `u32` as `format: int32, minimum: 0`, which says at most 2^31 - 1
/// while the server takes up to 2^32 - 1: the bound is written out, the format dropped.
fn bound_unsigned(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("format").and_then(Value::as_str) == Some("int32")
                && m.get("minimum").and_then(Value::as_u64).is_some()
            {
                m.remove("format");
                m.entry("maximum").or_insert(json!(u32::MAX));
            }
            m.values_mut().for_each(bound_unsigned);
        }
        Value::Array(a) => a.iter_mut().for_each(bound_unsigned),
        _ => {}
    }
}

/// The standard responses of one operation, its path parameters typed.
fn finish_operation(op: &mut Value) {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let has_body = op.get("requestBody").is_some();
    let mut path_params = false;
    let mut query_params = false;
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            match p.get("in").and_then(Value::as_str) {
                Some("path") => {
                    path_params = true;
                    let schema = if p.get("name").and_then(Value::as_str) == Some("record_type") {
                        "#/components/schemas/RecordType"
                    } else {
                        "#/components/schemas/Id"
                    };
                    p["schema"] = json!({"$ref": schema});
                }
                Some("query") => query_params = true,
                _ => {}
            }
        }
    }
    let responses = entry_object(op, "responses");
    for (status, response) in responses.iter_mut() {
        if let Some(r) = response.as_object_mut()
            && !r.contains_key("$ref")
            && !r.contains_key("description")
        {
            r.insert("description".into(), Value::String(default_description(status).into()));
        }
    }
    let mut standard = |status: &str, name: &str| {
        // A route's own description of a status wins; the standard one fills the gap.
        responses
            .entry(status)
            .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
    };
    if secured {
        standard("401", "Unauthorized");
    }
    if path_params {
        standard("404", "NotFound");
    }
    if path_params || query_params || has_body {
        standard("422", "Unprocessable");
    }
    if has_body {
        standard("400", "InvalidJson");
        standard("413", "PayloadTooLarge");
        standard("503", "Unavailable");
    }
    standard("500", "Internal");
}

fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "created",
        "202" => "accepted",
        "204" => "done; no body",
        "400" => "`invalid_json`",
        "403" => "`forbidden`: the caller's role may not do this",
        "404" => "`not_found`",
        "409" => "`conflict`",
        "422" => "`validation_failed` or `script_error`",
        "503" => "`unavailable`",
        _ => "see the error body",
    }
}

/// Replaces every schema that is an `allOf` of objects (in the components and inline,
/// e.g. the items of a page) by one object with all their properties and required
/// names, closed when any part was.
fn flatten_all_of(doc: &mut Value) {
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    flatten_in(doc, &schemas);
}

fn flatten_in(v: &mut Value, schemas: &Map<String, Value>) {
    if let Some(flat) = flattened(v, schemas, 0) {
        *v = flat;
    }
    match v {
        Value::Object(m) => m.values_mut().for_each(|v| flatten_in(v, schemas)),
        Value::Array(a) => a.iter_mut().for_each(|v| flatten_in(v, schemas)),
        _ => {}
    }
}

fn flattened(schema: &Value, schemas: &Map<String, Value>, depth: usize) -> Option<Value> {
    let parts = schema.get("allOf")?.as_array()?;
    if depth > 8 {
        return None;
    }
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut closed = false;
    for part in parts {
        let resolved = match part.get("$ref").and_then(Value::as_str) {
            Some(r) => schemas.get(r.strip_prefix("#/components/schemas/")?)?.clone(),
            None => part.clone(),
        };
        let resolved = flattened(&resolved, schemas, depth + 1).unwrap_or(resolved);
        if resolved.get("type").and_then(Value::as_str) != Some("object") {
            return None;
        }
        closed |= resolved.get("additionalProperties") == Some(&Value::Bool(false));
        if let Some(p) = resolved.get("properties").and_then(Value::as_object) {
            properties.extend(p.clone());
        }
        for r in resolved.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !required.contains(r) {
                required.push(r.clone());
            }
        }
    }
    let mut flat = json!({"type": "object", "properties": properties, "required": required});
    if closed {
        flat["additionalProperties"] = Value::Bool(false);
    }
    for key in ["description", "example", "examples"] {
        if let Some(v) = schema.get(key) {
            flat[key] = v.clone();
        }
    }
    Some(flat)
}

/// The object under `key` of the object `v`, made (empty) when missing.
fn entry_object<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => entry_map(m, key),
        // Made an object just above.
        _ => unreachable!("entry_object: made an object"),
    }
}

fn entry_map<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = m.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(m) => m,
        // Made an object just above.
        _ => unreachable!("entry_map: made an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_every_response_is_described() {
        let doc = crate::http::openapi();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in &all {
            let pointer = r.strip_prefix('#').unwrap_or(r);
            assert!(doc.pointer(pointer).is_some(), "dangling {r}");
        }
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                for (status, r) in op["responses"].as_object().into_iter().flatten() {
                    let described = match r.get("$ref").and_then(Value::as_str) {
                        Some(p) => doc
                            .pointer(p.trim_start_matches('#'))
                            .and_then(|c| c.get("description"))
                            .is_some(),
                        None => r.get("description").is_some(),
                    };
                    assert!(described, "{method} {path} {status} has no description");
                }
            }
        }
    }

    #[test]
    fn no_schema_keeps_an_all_of() {
        let doc = crate::http::openapi();
        let text = doc.to_string();
        assert!(!text.contains("allOf"), "{text}");
    }

    #[test]
    fn every_operation_documents_what_its_shape_can_answer() {
        let doc = crate::http::openapi();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let has = |status: &str| op["responses"].get(status).is_some();
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                assert_eq!(has("401"), secured, "{method} {path}: 401 exactly when secured");
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "422", "503"] {
                        assert!(has(status), "{method} {path} takes a body: {status}");
                    }
                }
                if path.contains('{') {
                    assert!(has("404") && has("422"), "{method} {path} names an object");
                }
                assert!(has("500"), "{method} {path}");
                checked += 1;
            }
        }
        assert!(checked > 40, "{checked} operations");
        let unavailable = &doc["components"]["responses"]["Unavailable"];
        assert!(unavailable["headers"].get("Retry-After").is_some(), "{unavailable}");
        let unauthorized = &doc["components"]["responses"]["Unauthorized"];
        assert!(
            unauthorized["headers"].get("WWW-Authenticate").is_some(),
            "{unauthorized}"
        );
    }
}
