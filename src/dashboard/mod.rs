//! The dashboard's page: `/ui` and its files, embedded in the binary at
//! build time (`src/dashboard/assets/`, uPlot vendored by `ui/vendor.sh`),
//! so nothing is installed and nothing is fetched from elsewhere.
//!
//! Every file is served with its content type, a strong `ETag` (answering
//! `If-None-Match` with 304), gzip when the browser takes it (compressed
//! once, on first use), `Cache-Control: no-cache` (a browser revalidates,
//! so a new binary's page is never mixed with an old one's script), and a
//! Content-Security-Policy that lets the page load only its own files and
//! talk only to its own origin. The shell loads without a key: it holds no
//! data; everything it shows comes from `/api/`, checked on every call.
//!
//! `GET /` sends a browser (one that accepts `text/html`) to `/ui`; API
//! clients asking for `/` still get the usual JSON 404.

use std::io::Write as _;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Path;
use axum::http::header::{
    ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    LOCATION, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// What the page may load and where it may connect: its own origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// Its path under `/ui/` (`""` for the page itself).
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $file:literal, $type:literal;)*) => {
        &[$(Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!("assets/", $file)),
        }),*]
    };
}

/// Every file of the page.
static ASSETS: &[Asset] = assets! {
    "" => "index.html", "text/html; charset=utf-8";
    "app.js" => "app.js", "text/javascript; charset=utf-8";
    "app.css" => "app.css", "text/css; charset=utf-8";
    "api.js" => "api.js", "text/javascript; charset=utf-8";
    "dom.js" => "dom.js", "text/javascript; charset=utf-8";
    "live.js" => "live.js", "text/javascript; charset=utf-8";
    "requests.js" => "requests.js", "text/javascript; charset=utf-8";
    "request_detail.js" => "request_detail.js", "text/javascript; charset=utf-8";
    "cache_entry.js" => "cache_entry.js", "text/javascript; charset=utf-8";
    "usage.js" => "usage.js", "text/javascript; charset=utf-8";
    "charts.js" => "charts.js", "text/javascript; charset=utf-8";
    "cache.js" => "cache.js", "text/javascript; charset=utf-8";
    "status.js" => "status.js", "text/javascript; charset=utf-8";
    "vendor/uPlot.iife.min.js" => "vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8";
    "vendor/uPlot.min.css" => "vendor/uPlot.min.css", "text/css; charset=utf-8";
    "vendor/uPlot.LICENSE" => "vendor/uPlot.LICENSE", "text/plain; charset=utf-8";
};

/// A file with what is derived from it once.
struct Prepared {
    etag: HeaderValue,
    gzipped: Vec<u8>,
}

fn prepared(index: usize) -> &'static Prepared {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    let all = PREPARED.get_or_init(|| ASSETS.iter().map(prepare).collect());
    &all[index]
}

fn prepare(asset: &Asset) -> Prepared {
    let digest = hex::encode(&Sha256::digest(asset.bytes)[..12]);
    let etag = HeaderValue::from_str(&format!("\"{digest}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gzipped = match encoder.write_all(asset.bytes) {
        Ok(()) => encoder.finish().unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    Prepared { etag, gzipped }
}

/// `GET /ui`.
pub async fn page(headers: HeaderMap) -> Response {
    serve("", &headers)
}

/// `GET /ui/{*path}`.
pub async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.path == path) else {
        return AppError::NotFound(format!(
            "no dashboard file /ui/{}",
            path.chars().take(100).collect::<String>()
        ))
        .into_response();
    };
    let asset = &ASSETS[index];
    let prepared = prepared(index);
    let mut response = if matches(headers, &prepared.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(headers) && !prepared.gzipped.is_empty() {
        let mut response = Body::from(prepared.gzipped.as_slice()).into_response();
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        Body::from(asset.bytes).into_response()
    };
    let out = response.headers_mut();
    out.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    out.insert(ETAG, prepared.etag.clone());
    out.insert(VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    protect(out);
    response
}

/// The headers every dashboard file carries.
fn protect(headers: &mut HeaderMap) {
    let fixed = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

fn matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag.as_bytes()
        })
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// `GET /` from a browser (it accepts `text/html`): where it is sent.
pub fn redirect_for_browser(method: &Method, headers: &HeaderMap) -> Option<Response> {
    let browser = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    (browser && method == Method::GET)
        .then(|| (StatusCode::SEE_OTHER, [(LOCATION, "/ui")]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn gzip_only_when_taken_and_etags_match_with_or_without_weakness() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br, gzip;q=0.8"
        )])));
        assert!(!accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip;q=0, br"
        )])));
        assert!(!accepts_gzip(&headers(&[])));
        let etag = HeaderValue::from_static("\"abc\"");
        assert!(matches(&headers(&[("if-none-match", "W/\"abc\"")]), &etag));
        assert!(matches(
            &headers(&[("if-none-match", "\"x\", \"abc\"")]),
            &etag
        ));
        assert!(!matches(&headers(&[("if-none-match", "\"abd\"")]), &etag));
    }

    #[test]
    fn every_file_is_embedded_and_gzips_back_to_itself() {
        use std::io::Read as _;
        for (index, asset) in ASSETS.iter().enumerate() {
            assert!(!asset.bytes.is_empty(), "{}", asset.path);
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(prepared(index).gzipped.as_slice())
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, asset.bytes, "{}", asset.path);
        }
    }
}
