//! The methods each served path takes, for the 405 answer of a known path asked with
//! another method. Read from the OpenAPI document, which utoipa-actix-web collects from
//! the very services the app serves, so the table and the routes cannot drift apart.

use actix_web::dev::ResourceDef;
use serde_json::Value;

/// Each served path pattern with the methods it answers.
pub struct KnownPaths(Vec<(ResourceDef, Vec<&'static str>)>);

impl KnownPaths {
    /// The paths of `api`, plus `extra` (routes served outside the document).
    pub fn new(api: &Value, extra: &[(&str, &[&'static str])]) -> KnownPaths {
        let mut paths: Vec<(ResourceDef, Vec<&'static str>)> = api
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(pattern, item)| {
                let methods = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]
                    .into_iter()
                    .filter(|m| item.get(m.to_ascii_lowercase()).is_some())
                    .collect();
                (ResourceDef::new(pattern.as_str()), methods)
            })
            .collect();
        paths.extend(
            extra
                .iter()
                .map(|(pattern, methods)| (ResourceDef::new(*pattern), methods.to_vec())),
        );
        KnownPaths(paths)
    }

    /// The methods `path` is served with, sorted; empty when no route has this path.
    pub fn allowed(&self, path: &str) -> Vec<String> {
        let mut allowed: Vec<String> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, methods)| methods.iter().map(|m| m.to_string()))
            .collect();
        allowed.sort();
        allowed.dedup();
        allowed
    }
}
