//! # commerce-http
//!
//! The shop as an axum [`Router`]: the JSON API under `/v1` over a
//! [`commerce::Shop`], errors as JSON `{code, message, details}` ([`ApiError`]),
//! the caller established from the session (cookie or bearer) and the guest cart
//! token ([`extract::Caller`]), the OpenAPI document at `/openapi.json` generated
//! from the handlers' types with an interactive page at `/docs`, request ids,
//! tracing, a body size limit and configurable CORS.
//!
//! It depends on the facade without features: it sees ports and the `Shop`, never
//! a backend. An integrator mounts [`router`] in their own app; the example
//! `platform` serves it.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let state = commerce_http::AppState::new(
//!     commerce::Shop::in_memory(),
//!     commerce_http::HttpConfig::default(),
//! );
//! let app = commerce_http::router(state);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

pub mod access;
pub mod cache;
pub mod error;
pub mod extract;
pub mod hashing;
pub mod pages;
pub mod routes;
pub mod state;
pub mod views;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ErrorBody};
pub use hashing::BlockingHasher;
pub use state::{
    AppState, HttpConfig, MailMessage, Mailbox, Probe, WebhookSecret, WorkerBoard, WorkerStatus,
};

/// Header carrying the request id (taken from the client or generated).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(OpenApi)]
#[openapi(
    info(title = "commerce", description = "The shop's JSON API."),
    tags(
        (name = "ops", description = "Health, readiness, workers"),
        (name = "catalog", description = "Categories, products, sellers"),
        (name = "cart", description = "Guest and customer carts"),
        (name = "checkout", description = "Orders from carts, idempotent"),
        (name = "orders", description = "The customer's orders"),
        (name = "account", description = "Profile, addresses, sessions"),
        (name = "admin", description = "Shop staff: orders, refunds, customers, catalog, tables, analytics"),
        (name = "seller", description = "A seller's staff: their products, stock, orders to ship, sales"),
        (name = "reviews", description = "Reviews, ratings, moderation"),
        (name = "recommendations", description = "Bought together, similar, popular, for you"),
        (name = "carriers", description = "Carrier tracking webhooks"),
        (name = "dev", description = "Demo tools: the in-memory mailbox"),
    )
)]
struct ApiDoc;

/// The API routes with their OpenAPI document, before state and layers.
pub fn api() -> (Router<AppState>, OpenApiDoc) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::ops::router())
        .merge(routes::catalog::router())
        .merge(routes::search::router())
        .merge(routes::cart::router())
        .merge(routes::checkout::router())
        .merge(routes::orders::router())
        .merge(routes::account::router())
        .merge(routes::auth::router())
        .merge(routes::analytics::router())
        .merge(routes::seller::router())
        .merge(routes::admin::router())
        .merge(routes::admin_pricing::router())
        .merge(routes::admin_customers::router())
        .merge(routes::admin_catalog::router())
        .merge(routes::reviews::router())
        .merge(routes::recommend::router())
        .merge(routes::tracking::router())
        .merge(routes::notifications::router())
        .merge(routes::shipping::router())
        .split_for_parts();
    (router, document_query_errors(doc))
}

/// Every operation with query parameters can answer 400 `invalid_query` (the
/// [`extract::ApiQuery`] extractor refuses an unknown or malformed parameter before
/// the handler runs): the document says so for all of them, not only for those whose
/// annotation remembered it. The response is the one the annotations write for
/// `(status = 400, body = ErrorBody)`, copied from the first that has it.
fn document_query_errors(mut doc: OpenApiDoc) -> OpenApiDoc {
    let bad_request = doc.paths.paths.values().find_map(|item| {
        [&item.get, &item.post, &item.put, &item.delete, &item.patch]
            .into_iter()
            .flatten()
            .find_map(|op| op.responses.responses.get("400").cloned())
    });
    let Some(bad_request) = bad_request else {
        return doc;
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let takes_query = op.parameters.iter().flatten().any(|p| {
                matches!(p, utoipa::openapi::RefOr::T(p)
                    if p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
            });
            if takes_query {
                op.responses
                    .responses
                    .entry("400".to_owned())
                    .or_insert_with(|| bad_request.clone());
            }
        }
    }
    doc
}

/// The OpenAPI document of the API.
pub fn openapi() -> OpenApiDoc {
    api().1
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(extract::CART_HEADER),
            HeaderName::from_static(extract::IDEMPOTENCY_HEADER),
        ])
        .max_age(Duration::from_secs(600))
}

/// The whole application: the API, `/openapi.json`, the interactive page at
/// `/docs`, unknown routes as JSON 404, and the layers (request id, tracing, body
/// limit, CORS).
pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        access::enforce,
    ));
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let config = state.config.clone();
    // The interactive page's assets are compiled into the binary (`vendored`): it
    // works on a machine without internet, unlike a page that loads from a CDN.
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
    .fallback(|| async { ApiError::not_found("route") })
    .with_state(state)
    .layer(RequestBodyLimitLayer::new(config.body_limit))
    // The limit layer refuses an oversized Content-Length with a plain-text 413;
    // every error of the API is JSON.
    .layer(axum::middleware::map_response(error::body_limit_as_json))
    .layer(cors(&config.cors_origins))
    .layer(PropagateRequestIdLayer::new(request_id.clone()))
    .layer(TraceLayer::new_for_http().make_span_with(
        |req: &axum::http::Request<axum::body::Body>| {
            let id = req
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        },
    ))
    .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
