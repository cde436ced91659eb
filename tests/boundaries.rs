//! The map of the crate, enforced: which top-level module of `src/` may import which
//! (ARCHITECTURE.md's code map says the same), that the folders import each other
//! without a circle, that only the store names redb and only the HTTP edge (and the
//! binary that builds it) names actix-web, and that no source file grows past 600 lines
//! without saying why at its top (`//! Size: ...`). The import checks read `src/`; the
//! length check reads `benches/` and `tests/` too.
//!
//! Reads the source as text: `crate::x` (and `$crate::x` in macros) outside comments is
//! an import of `x`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module, lowest first, and what it may import. A new module must be placed here.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("scripting", &["domain"]),
    ("store", &["domain"]),
    ("error", &["domain", "scripting", "store"]),
    ("json", &["domain", "error"]),
    ("pipeline", &["domain", "error", "scripting"]),
    ("auth", &["domain", "error", "store"]),
    ("actors", &["domain", "error", "pipeline", "scripting", "store"]),
    ("state", &["actors", "auth", "domain", "pipeline", "scripting", "store"]),
    (
        "ops",
        &[
            "actors",
            "auth",
            "domain",
            "error",
            "json",
            "pipeline",
            "scripting",
            "state",
            "store",
        ],
    ),
    ("http", &["auth", "domain", "error", "json", "ops", "state", "store"]),
    (
        "app",
        &[
            "actors",
            "auth",
            "domain",
            "error",
            "http",
            "pipeline",
            "scripting",
            "state",
            "store",
        ],
    ),
    ("cli", &["app"]),
];

/// External crates only some modules may name.
const CONFINED: &[(&str, &[&str])] = &[("redb", &["store"]), ("actix_web", &["http", "app"])];

const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for `lib.rs` and `main.rs`).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// The code of a line: without a trailing `//` comment, empty for a comment line.
fn code(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with("//") {
        return "";
    }
    match line.find("//") {
        // A `//` inside a string (a URL) is rare in this crate; imports never follow one.
        Some(i) => &line[..i],
        None => line,
    }
}

/// Every `crate::x` a file names, with the line it is on.
fn imports(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = code(line);
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::` as a path start, not the tail of another word.
            if before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')) && !name.is_empty() {
                out.push((name, n + 1));
            }
            rest = after;
        }
    }
    out
}

fn names_crate(text: &str, krate: &str) -> Option<usize> {
    let path = format!("{krate}::");
    text.lines().enumerate().find_map(|(n, line)| {
        let line = code(line);
        let found = line.match_indices(&path).any(|(i, _)| {
            line[..i]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        }) || line.trim_start().starts_with(&format!("use {krate}"));
        found.then_some(n + 1)
    })
}

/// Every `.rs` file under `src/`, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    sources_under(&["src"])
}

/// Every `.rs` file under the package's folders `dirs`, with its text.
fn sources_under(dirs: &[&str]) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display()));
            (f, text)
        })
        .collect()
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        let Some(module) = module_of(&file) else { continue };
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "{}: module `{module}` is not placed in LAYERS (tests/boundaries.rs) nor in ARCHITECTURE.md's code map",
                file.display()
            ));
            continue;
        };
        for (name, line) in imports(&text) {
            if name != module && !may.contains(&name.as_str()) {
                wrong.push(format!("{}:{line}: `{module}` imports `{name}`", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports across a boundary:\n{}", wrong.join("\n"));
}

/// The web console uses the API's operations, never the state owners or the store
/// behind them: each of its actions calls the `ops` function its `/api/v1` route calls.
#[test]
fn the_console_reaches_state_only_through_the_operations() {
    let console = src().join("http").join("console");
    let mut wrong = Vec::new();
    let mut files = 0;
    for (file, text) in sources() {
        if !file.starts_with(&console) {
            continue;
        }
        files += 1;
        for (name, line) in imports(&text) {
            if name == "actors" || name == "store" {
                wrong.push(format!("{}:{line}: the console imports `{name}`", file.display()));
            }
        }
        if let Some(line) = names_crate(&text, "redb") {
            wrong.push(format!("{}:{line}: the console names redb", file.display()));
        }
    }
    assert!(files > 0, "the console's sources are under {}", console.display());
    assert!(
        wrong.is_empty(),
        "console code past the operations:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layers_have_no_circle() {
    // Each module may import only modules listed before it, so the table is a DAG.
    let mut seen = BTreeSet::new();
    for (module, may) in LAYERS {
        for m in *may {
            assert!(seen.contains(m), "`{module}` may import `{m}`, which is not below it");
        }
        seen.insert(*module);
    }
}

#[test]
fn confined_crates_are_named_only_where_they_belong() {
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        let module = module_of(&file);
        for (krate, owners) in CONFINED {
            let allowed = module.as_deref().is_some_and(|m| owners.contains(&m))
                // The binary builds the HTTP server.
                || (module.is_none() && *krate == "actix_web");
            if !allowed && let Some(line) = names_crate(&text, krate) {
                wrong.push(format!("{}:{line}: names `{krate}`", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "crates named outside their module:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_source_file_is_long_without_a_reason() {
    let mut long = Vec::new();
    for (file, text) in sources_under(&["src", "benches", "tests"]) {
        let lines = text.lines().count();
        let says_why = text
            .lines()
            .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
            .any(|l| l.starts_with("//! Size:"));
        if lines > MAX_LINES && !says_why {
            long.push(format!("{}: {lines} lines", file.display()));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines without a `//! Size:` line at the top saying why:\n{}",
        long.join("\n")
    );
}

/// The checks themselves: an import in code counts, one in a comment does not.
#[test]
fn the_reader_tells_code_from_comments() {
    let text = "use crate::store::Store;\n/// see [`crate::http`]\nlet x = $crate::error::Error; // crate::ops\n";
    let found: Vec<String> = imports(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, ["store", "error"]);
    assert_eq!(names_crate("use redb::ReadableTable;", "redb"), Some(1));
    assert_eq!(names_crate("//! one redb file", "redb"), None);
    assert_eq!(names_crate("let t: redb::Table = x;", "redb"), Some(1));
    assert_eq!(names_crate("allot.redb", "redb"), None);
}
