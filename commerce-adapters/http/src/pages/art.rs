//! The stylesheet, the script, and placeholder product art: an SVG drawn from the
//! product's handle (the same handle always gives the same picture).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../assets/shop.css");
const JS: &str = include_str!("../../assets/shop.js");

/// `/assets/shop.css`.
pub(super) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        CSS,
    )
        .into_response()
}

/// `/assets/shop.js`.
pub(super) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        JS,
    )
        .into_response()
}

/// Escapes text for an SVG text node.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The placeholder picture of the product with handle `slug`: two hues and a shape
/// chosen by the handle's hash, and its initials.
pub fn placeholder_svg(slug: &str) -> String {
    let h = Sha256::digest(slug.as_bytes());
    let hue = u32::from(h[0]) * 360 / 256;
    let hue2 = (hue + 40 + u32::from(h[1]) % 80) % 360;
    let shape = h[2] % 3;
    let initials: String = slug
        .split('-')
        .filter(|w| !w.is_empty())
        .take(2)
        .filter_map(|w| w.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    let figure = match shape {
        0 => {
            format!(r#"<circle cx="200" cy="170" r="92" fill="hsl({hue2},70%,88%)" opacity=".9"/>"#)
        }
        1 => format!(
            r#"<rect x="112" y="82" width="176" height="176" rx="28" fill="hsl({hue2},70%,88%)" opacity=".9" transform="rotate(12 200 170)"/>"#
        ),
        _ => format!(
            r#"<polygon points="200,70 300,250 100,250" fill="hsl({hue2},70%,88%)" opacity=".9"/>"#
        ),
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 340" role="img" aria-label="{alt}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl({hue},55%,42%)"/><stop offset="1" stop-color="hsl({hue2},60%,30%)"/></linearGradient></defs><rect width="400" height="340" fill="url(#g)"/>{figure}<text x="200" y="192" text-anchor="middle" font-family="Georgia,serif" font-size="64" font-weight="700" fill="hsl({hue},55%,25%)">{initials}</text></svg>"##,
        alt = escape(slug),
        initials = escape(&initials),
    )
}

/// `/art/{slug}.svg`.
pub(super) async fn placeholder(Path(file): Path<String>) -> Response {
    let slug = file.strip_suffix(".svg").unwrap_or(&file);
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        placeholder_svg(slug),
    )
        .into_response()
}
