//! What the API answers: JSON views of domain records, with their OpenAPI schemas.
//! Amounts are decimal strings with their currency, never floats.

use chrono::{DateTime, Utc};
use commerce::cart::PricedCart;
use commerce::core::{Address, Category, Money, PriceBreakdown, Product, Seller};
use commerce::orders::{Order, OrderLine};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// An amount of money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MoneyView {
    /// Decimal string in the currency's minor units (`"19.99"`).
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<Money> for MoneyView {
    fn from(m: Money) -> Self {
        // Always the currency's minor units ("5.00", not "5"), whatever scale a sum
        // came out at.
        let mut amount = m.amount();
        amount.rescale(m.currency().minor_units());
        MoneyView {
            amount: amount.to_string(),
            currency: m.currency().code().to_owned(),
        }
    }
}

/// A postal address, as orders and address books hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    /// Recipient name.
    pub name: String,
    /// First line.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State, province or region code.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Contact phone.
    pub phone: Option<String>,
}

impl From<&Address> for AddressView {
    fn from(a: &Address) -> Self {
        AddressView {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.to_string(),
            phone: a.phone.clone(),
        }
    }
}

/// How much of a variant can be bought now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockState {
    /// More than the low-stock threshold.
    Available,
    /// Some, at most the low-stock threshold.
    Low,
    /// None available (unless backordered).
    Out,
}

impl StockState {
    /// The state of `available` units against `low_threshold`.
    pub fn of(available: u64, low_threshold: u64) -> Self {
        match available {
            0 => StockState::Out,
            n if n <= low_threshold => StockState::Low,
            _ => StockState::Available,
        }
    }
}

/// An image, its URL resolved under the CDN base URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImageView {
    /// URL a browser loads.
    pub url: String,
    /// Alternative text.
    pub alt: String,
}

/// An option and its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OptionView {
    /// Name (`size`).
    pub name: String,
    /// Values in display order.
    pub values: Vec<String>,
}

/// The value a variant takes for an option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OptionValueView {
    /// Option name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A variant with its price and stock state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VariantView {
    /// SKU (what the cart takes).
    pub sku: String,
    /// Name.
    pub name: String,
    /// Price.
    pub price: MoneyView,
    /// "Was" price.
    pub compare_at_price: Option<MoneyView>,
    /// Option values.
    pub options: Vec<OptionValueView>,
    /// Stock state.
    pub stock: StockState,
}

/// A seller as shoppers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SellerView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Handle.
    pub slug: String,
    /// Contact email.
    pub contact_email: String,
}

impl From<Seller> for SellerView {
    fn from(s: Seller) -> Self {
        SellerView {
            id: s.id.to_string(),
            name: s.name,
            slug: s.slug,
            contact_email: s.contact_email,
        }
    }
}

/// A product page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    /// Id.
    pub id: String,
    /// Handle.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Brand.
    pub brand: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Category ids.
    pub category_ids: Vec<String>,
    /// The seller, when it has a record.
    pub seller: Option<SellerView>,
    /// Images in display order.
    pub images: Vec<ImageView>,
    /// Options variants differ by.
    pub options: Vec<OptionView>,
    /// Variants.
    pub variants: Vec<VariantView>,
    /// Its rating aggregate (published reviews only).
    pub rating: crate::routes::reviews::RatingView,
}

/// Images of `product` in order, resolved under `cdn`.
pub fn images(product: &Product, cdn: &str) -> Vec<ImageView> {
    product
        .images_in_order()
        .into_iter()
        .map(|i| ImageView {
            url: i.resolve(cdn),
            alt: i.alt.clone(),
        })
        .collect()
}

/// A product in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductSummary {
    /// Id (also the keyset cursor).
    pub id: String,
    /// Handle.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Brand.
    pub brand: Option<String>,
    /// Lowest variant price.
    pub price_from: Option<MoneyView>,
    /// First image.
    pub image: Option<ImageView>,
}

impl ProductSummary {
    /// The summary of `product`, its image under `cdn`.
    pub fn of(product: &Product, cdn: &str) -> Self {
        ProductSummary {
            id: product.id.to_string(),
            slug: product.slug.clone(),
            title: product.title.clone(),
            brand: product.brand.clone(),
            price_from: product
                .variants
                .iter()
                .map(|v| v.price)
                .min_by(|a, b| a.amount().cmp(&b.amount()))
                .map(MoneyView::from),
            image: images(product, cdn).into_iter().next(),
        }
    }
}

/// A page of products.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    /// Products, ordered by id.
    pub items: Vec<ProductSummary>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A node of the category tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryNode {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Handle.
    pub slug: String,
    /// Sub-categories, by name.
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

/// The tree of `categories` (roots and their descendants, each level by name).
pub fn category_tree(categories: &[Category]) -> Vec<CategoryNode> {
    fn children(
        all: &[Category],
        parent: Option<commerce::core::CategoryId>,
        depth: usize,
    ) -> Vec<CategoryNode> {
        if depth > 64 {
            return Vec::new();
        }
        let mut nodes: Vec<CategoryNode> = all
            .iter()
            .filter(|c| c.parent_id == parent)
            .map(|c| CategoryNode {
                id: c.id.to_string(),
                name: c.name.clone(),
                slug: c.slug.clone(),
                children: children(all, Some(c.id), depth + 1),
            })
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes
    }
    children(categories, None, 0)
}

/// A priced line of a cart or an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineView {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Quantity.
    pub quantity: u32,
    /// Unit price.
    pub unit_price: MoneyView,
    /// Discount on the line.
    pub discount: MoneyView,
    /// Tax on the line.
    pub tax: MoneyView,
    /// Line total.
    pub total: MoneyView,
}

/// Totals of a cart or an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TotalsView {
    /// Sum of line subtotals.
    pub subtotal: MoneyView,
    /// Discounts.
    pub discount_total: MoneyView,
    /// Shipping.
    pub shipping_total: MoneyView,
    /// Tax.
    pub tax_total: MoneyView,
    /// What the customer pays.
    pub grand_total: MoneyView,
}

/// A shipping option for the cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingOptionView {
    /// Code to send at checkout.
    pub code: String,
    /// Name.
    pub name: String,
}

/// The priced view of a cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartView {
    /// Lines, by SKU.
    pub lines: Vec<LineView>,
    /// Totals (shipping and tax once an address and method are given).
    pub totals: TotalsView,
    /// Promotions that applied.
    pub applied_promotions: Vec<String>,
    /// Shipping methods of the shop.
    pub shipping_options: Vec<ShippingOptionView>,
}

/// The view of a priced cart.
pub fn cart_view(priced: &PricedCart, shipping_options: Vec<ShippingOptionView>) -> CartView {
    let b: &PriceBreakdown = &priced.breakdown;
    CartView {
        lines: b
            .lines
            .iter()
            .map(|l| LineView {
                sku: l.sku.as_str().to_owned(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.into(),
                discount: l.discount.into(),
                tax: l.tax.into(),
                total: l.total.into(),
            })
            .collect(),
        totals: TotalsView {
            subtotal: b.subtotal.into(),
            discount_total: b.discount_total.into(),
            shipping_total: b.shipping_total.into(),
            tax_total: b.tax_total.into(),
            grand_total: b.grand_total.into(),
        },
        applied_promotions: b.applied_promotions.clone(),
        shipping_options,
    }
}

/// An order as its owner sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    /// Id.
    pub id: String,
    /// Human order number.
    pub number: Option<String>,
    /// Order status (`pending_payment`, `confirmed`, `cancelled`, ...).
    pub status: String,
    /// Payment status.
    pub payment_status: String,
    /// Payment method label (`card ending 4242`).
    pub payment_method: String,
    /// Fulfilment status.
    pub fulfilment_status: String,
    /// Lines.
    pub lines: Vec<LineView>,
    /// Totals.
    pub totals: TotalsView,
    /// Shipping method code.
    pub shipping_method: String,
    /// The shipping option as chosen and paid at checkout (snapshotted).
    pub shipping: ShippingSnapshotView,
    /// Where the goods go.
    pub shipping_address: AddressView,
    /// When placed.
    pub created_at: DateTime<Utc>,
    /// Total refunded so far.
    pub refunded: MoneyView,
    /// The refunds made, oldest first.
    pub refunds: Vec<RefundView>,
    /// The parcels sent, oldest first.
    pub shipments: Vec<ShipmentView>,
}

/// A refund of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundView {
    /// Amount given back.
    pub amount: MoneyView,
    /// Part taken from the shipping charge.
    pub shipping: MoneyView,
    /// Why.
    pub reason: String,
    /// When.
    pub refunded_at: DateTime<Utc>,
}

/// A parcel of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentView {
    /// SKUs and units in it.
    pub lines: Vec<ShipmentLineView>,
    /// Carrier name.
    pub carrier: Option<String>,
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// When it left.
    pub shipped_at: DateTime<Utc>,
}

/// Units of a SKU in a parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentLineView {
    /// SKU.
    pub sku: String,
    /// Units.
    pub quantity: u32,
}

fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn line_view(l: &OrderLine) -> LineView {
    LineView {
        sku: l.sku.as_str().to_owned(),
        name: l.name.clone(),
        quantity: l.quantity,
        unit_price: l.unit_price.into(),
        discount: l.discount.into(),
        tax: l.tax.into(),
        total: l.total.into(),
    }
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        OrderView {
            id: o.id.to_string(),
            number: o.number.clone(),
            status: name_of(&o.status),
            payment_status: name_of(&o.payment.status),
            payment_method: o.payment.method.label.clone(),
            fulfilment_status: name_of(&o.fulfilment.status),
            lines: o.lines.iter().map(line_view).collect(),
            totals: TotalsView {
                subtotal: o.totals.subtotal.into(),
                discount_total: o.totals.discount_total.into(),
                shipping_total: o.totals.shipping_total.into(),
                tax_total: o.totals.tax_total.into(),
                grand_total: o.totals.grand_total.into(),
            },
            shipping_method: o.shipping.code.clone(),
            shipping: ShippingSnapshotView::from(&o.shipping),
            shipping_address: (&o.shipping_address).into(),
            created_at: o.created_at,
            refunded: o.payment.refunded.into(),
            refunds: o
                .payment
                .refunds
                .iter()
                .map(|r| RefundView {
                    amount: r.amount.into(),
                    shipping: r.shipping.into(),
                    reason: r.reason.clone(),
                    refunded_at: r.refunded_at,
                })
                .collect(),
            shipments: o
                .fulfilment
                .shipments
                .iter()
                .map(|s| ShipmentView {
                    lines: s
                        .lines
                        .iter()
                        .map(|l| ShipmentLineView {
                            sku: l.sku.as_str().to_owned(),
                            quantity: l.quantity,
                        })
                        .collect(),
                    carrier: s.carrier.clone(),
                    tracking_number: s.tracking_number.clone(),
                    shipped_at: s.shipped_at,
                })
                .collect(),
        }
    }
}

/// The shipping option an order was placed with, as snapshotted on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingSnapshotView {
    /// Code (`standard`, `ups:ground`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Price paid.
    pub price: MoneyView,
    /// Carrier code of a carrier option.
    pub carrier: Option<String>,
    /// Service level of a carrier option.
    pub service: Option<String>,
    /// Business days in transit quoted by the carrier.
    pub transit_days: Option<u32>,
}

impl From<&commerce::orders::ShippingSnapshot> for ShippingSnapshotView {
    fn from(s: &commerce::orders::ShippingSnapshot) -> Self {
        let rate = s.carrier_rate.as_ref();
        ShippingSnapshotView {
            code: s.code.clone(),
            name: s.name.clone(),
            price: s.price.into(),
            carrier: rate.map(|r| r.carrier.as_str().to_owned()),
            service: rate.map(|r| r.service.as_str().to_owned()),
            transit_days: rate.map(|r| r.transit_days),
        }
    }
}
