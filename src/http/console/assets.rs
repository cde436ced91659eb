//! The console's static files (`console/assets/`), embedded in the binary. Each answer
//! carries an ETag (the file's SHA-256) and is revalidated rather than stored, so a new
//! binary's files are used at once and an unchanged file costs a 304.

use actix_web::http::header;
use actix_web::web::Path;
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "console/assets/"]
#[exclude = "*.txt"]
struct Assets;

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

pub async fn serve(req: HttpRequest, path: Path<String>) -> HttpResponse {
    let Some(file) = Assets::get(&path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such file");
    };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag.clone()))
        // Overrides the console's `no-store`: these files hold no user data.
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if matches {
        return resp.finish();
    }
    resp.content_type(content_type(&path)).body(file.data.into_owned())
}
