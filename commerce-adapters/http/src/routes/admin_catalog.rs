//! Staff's catalog: categories (create, rename, move under another parent) and any
//! seller's products (list by seller and status, create for a seller, update). The
//! checks are the domain's: the store refuses a parent cycle
//! (`CategoryCycle`, 409 `category_cycle`), an unknown parent (404) and a slug taken
//! (409); an admin acts for any seller (`Actor::manages_seller`). Every write puts
//! its event on the outbox (`catalog.category_upserted`, `catalog.product_upserted`)
//! so the search index and the caches follow. List and deactivate: `admin.rs`.
//!
//! Queries per request: category create 1 write (one transaction: tree lock,
//! parent walk, insert, event); rename and move 1 read (the tree) + that write;
//! products list 1 (a keyset page); product create 3 (seller, slug, write); product
//! update 2 (read, write).

use axum::extract::State;
use axum::http::StatusCode;
use commerce::core::catalog::rules::slugify;
use commerce::core::ports::ProductQuery;
use commerce::core::{Actor, Category, CategoryId, ProductId, ProductStatus, SellerId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::routes::catalog::parse_id;
use crate::routes::seller::{
    NewProductInput, ProductUpdate, SellerProductView, apply_update, check_categories, new_product,
    product_view,
};
use crate::state::AppState;

/// Longest category name, in characters.
pub const MAX_CATEGORY_NAME_CHARS: usize = 200;

/// A category as staff edit it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryView {
    /// Id.
    pub id: String,
    /// Parent id; absent for a root.
    pub parent_id: Option<String>,
    /// Name.
    pub name: String,
    /// Handle.
    pub slug: String,
}

impl From<&Category> for CategoryView {
    fn from(c: &Category) -> Self {
        CategoryView {
            id: c.id.to_string(),
            parent_id: c.parent_id.map(|p| p.to_string()),
            name: c.name.clone(),
            slug: c.slug.clone(),
        }
    }
}

/// A category to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryInput {
    /// Name (1 to 200 characters).
    pub name: String,
    /// Handle; absent: made from the name.
    pub slug: Option<String>,
    /// Parent id; absent: a root.
    pub parent_id: Option<String>,
}

/// A new name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameCategoryInput {
    /// Name (1 to 200 characters).
    pub name: String,
}

/// A new parent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveCategoryInput {
    /// The new parent's id; `null` makes the category a root.
    pub parent_id: Option<String>,
}

/// The trimmed name; 422 when empty, too long or holding control characters.
pub(crate) fn category_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_CATEGORY_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::validation(
            "name",
            "1 to 200 characters, no control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A parent id from a client: absent or empty is a root; malformed is 422.
pub(crate) fn parent_id(raw: Option<&str>) -> Result<Option<CategoryId>, ApiError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_id::<CategoryId>("parent_id", s))
        .transpose()
}

/// Creates a category (and its event); 409 `conflict` for a slug taken, 404 for an
/// unknown parent.
pub(crate) async fn create(
    state: &AppState,
    name: &str,
    slug: Option<&str>,
    parent: Option<&str>,
) -> Result<Category, ApiError> {
    let name = category_name(name)?;
    let slug = match slug.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_owned(),
        None => slugify(&name),
    };
    let category = Category {
        id: CategoryId::new(),
        parent_id: parent_id(parent)?,
        name,
        slug,
    };
    state.shop.catalog().upsert_category(&category).await?;
    Ok(category)
}

/// The stored category `raw`; 404 when unknown or malformed.
async fn stored(state: &AppState, raw: &str) -> Result<Category, ApiError> {
    let id = parse_id::<CategoryId>("id", raw).map_err(|_| ApiError::not_found("category"))?;
    state
        .shop
        .catalog()
        .categories()
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found("category"))
}

/// Renames category `raw`.
pub(crate) async fn rename(state: &AppState, raw: &str, name: &str) -> Result<Category, ApiError> {
    let name = category_name(name)?;
    let mut category = stored(state, raw).await?;
    category.name = name;
    state.shop.catalog().upsert_category(&category).await?;
    Ok(category)
}

/// Moves category `raw` under `parent` (none: a root); 409 `category_cycle` when
/// the parent is the category or below it.
pub(crate) async fn move_to(
    state: &AppState,
    raw: &str,
    parent: Option<&str>,
) -> Result<Category, ApiError> {
    let parent = parent_id(parent)?;
    let mut category = stored(state, raw).await?;
    category.parent_id = parent;
    state.shop.catalog().upsert_category(&category).await?;
    Ok(category)
}

/// Creates a category.
#[utoipa::path(post, path = "/v1/admin/categories", tag = "admin", request_body = NewCategoryInput,
    responses((status = 201, body = CategoryView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_category(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewCategoryInput>,
) -> Result<(StatusCode, ApiJson<CategoryView>), ApiError> {
    caller.admin()?;
    let category = create(
        &state,
        &input.name,
        input.slug.as_deref(),
        input.parent_id.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(CategoryView::from(&category))))
}

/// Renames a category (its handle is kept).
#[utoipa::path(post, path = "/v1/admin/categories/{id}/rename", tag = "admin",
    request_body = RenameCategoryInput,
    params(("id" = String, Path, description = "Category id")),
    responses((status = 200, body = CategoryView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rename_category(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RenameCategoryInput>,
) -> Result<ApiJson<CategoryView>, ApiError> {
    caller.admin()?;
    let category = rename(&state, &id, &input.name).await?;
    Ok(ApiJson(CategoryView::from(&category)))
}

/// Moves a category under another parent (or to the root); a parent that is the
/// category itself or one of its descendants is refused (409 `category_cycle`).
#[utoipa::path(post, path = "/v1/admin/categories/{id}/move", tag = "admin",
    request_body = MoveCategoryInput,
    params(("id" = String, Path, description = "Category id")),
    responses((status = 200, body = CategoryView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn move_category(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<MoveCategoryInput>,
) -> Result<ApiJson<CategoryView>, ApiError> {
    caller.admin()?;
    let category = move_to(&state, &id, input.parent_id.as_deref()).await?;
    Ok(ApiJson(CategoryView::from(&category)))
}

/// A page of any seller's products.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminProductsQuery {
    /// Only this seller's products.
    pub seller_id: Option<String>,
    /// Only products in this status (`draft`, `active`, `archived`).
    pub status: Option<String>,
    /// Only products after this id (the last id of the previous page).
    pub after: Option<String>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u32>,
}

/// The store query of `q`; 422 for a malformed field.
pub(crate) fn product_query(q: &AdminProductsQuery) -> Result<ProductQuery, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 100 {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("draft") => Some(ProductStatus::Draft),
        Some("active") => Some(ProductStatus::Active),
        Some("archived") => Some(ProductStatus::Archived),
        Some(_) => {
            return Err(ApiError::validation(
                "status",
                "one of draft, active, archived",
            ));
        }
    };
    Ok(ProductQuery::page(limit)
        .with_seller(
            q.seller_id
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| parse_id::<SellerId>("seller_id", s))
                .transpose()?,
        )
        .with_status(status)
        .with_after(
            q.after
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| parse_id::<ProductId>("after", s))
                .transpose()?,
        ))
}

/// Any seller's products by id, filtered by seller and status.
#[utoipa::path(get, path = "/v1/admin/products", tag = "admin", params(AdminProductsQuery),
    responses((status = 200, body = Vec<SellerProductView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn list_products(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AdminProductsQuery>,
) -> Result<ApiJson<Vec<SellerProductView>>, ApiError> {
    caller.admin()?;
    let products = state
        .shop
        .catalog()
        .list_products(&product_query(&q)?)
        .await?;
    let cdn = &state.config.cdn_base_url;
    Ok(ApiJson(
        products.iter().map(|p| product_view(p, cdn)).collect(),
    ))
}

/// Creates a product for seller `seller` as `actor` (who must manage that seller:
/// the seller's staff or an admin); 404 for an unknown seller, 409 for a slug taken.
pub(crate) async fn create_for(
    state: &AppState,
    actor: &Actor,
    seller: &str,
    input: &NewProductInput,
) -> Result<commerce::core::Product, ApiError> {
    let seller =
        parse_id::<SellerId>("seller_id", seller).map_err(|_| ApiError::not_found("seller"))?;
    if !actor.manages_seller(seller) {
        return Err(ApiError::forbidden());
    }
    let catalog = state.shop.catalog();
    catalog
        .seller(seller)
        .await?
        .ok_or_else(|| ApiError::not_found("seller"))?;
    let product = new_product(seller, input, state.shop.clock().now())?;
    if catalog.product_by_slug(&product.slug).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a product with this slug exists",
        ));
    }
    catalog.upsert_product(&product).await?;
    Ok(product)
}

/// Updates any product as `actor` (who must manage its seller); 404 when unknown.
pub(crate) async fn update_for(
    state: &AppState,
    actor: &Actor,
    raw: &str,
    input: &ProductUpdate,
) -> Result<commerce::core::Product, ApiError> {
    let id = parse_id::<ProductId>("id", raw).map_err(|_| ApiError::not_found("product"))?;
    let catalog = state.shop.catalog();
    let mut product = catalog
        .product(id)
        .await?
        .filter(|p| actor.manages_seller(p.seller_id))
        .ok_or_else(|| ApiError::not_found("product"))?;
    apply_update(&mut product, input)?;
    if input.category_ids.is_some() {
        check_categories(state, &product).await?;
    }
    product.updated_at = state.shop.clock().now();
    product.validate()?;
    catalog.upsert_product(&product).await?;
    Ok(product)
}

/// Creates a product for any seller (a draft unless `active`).
#[utoipa::path(post, path = "/v1/admin/sellers/{seller_id}/products", tag = "admin",
    request_body = NewProductInput,
    params(("seller_id" = String, Path, description = "Seller id")),
    responses((status = 201, body = SellerProductView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(seller_id): ApiPath<String>,
    ApiJson(input): ApiJson<NewProductInput>,
) -> Result<(StatusCode, ApiJson<SellerProductView>), ApiError> {
    caller.admin()?;
    let actor = caller.actor()?;
    let product = create_for(&state, &actor, &seller_id, &input).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(product_view(&product, &state.config.cdn_base_url)),
    ))
}

/// Changes any seller's product (absent fields are kept).
#[utoipa::path(put, path = "/v1/admin/products/{id}", tag = "admin", request_body = ProductUpdate,
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = SellerProductView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ProductUpdate>,
) -> Result<ApiJson<SellerProductView>, ApiError> {
    caller.admin()?;
    let actor = caller.actor()?;
    let product = update_for(&state, &actor, &id, &input).await?;
    Ok(ApiJson(product_view(&product, &state.config.cdn_base_url)))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_category))
        .routes(routes!(rename_category))
        .routes(routes!(move_category))
        .routes(routes!(list_products))
        .routes(routes!(create_product))
        .routes(routes!(update_product))
}
