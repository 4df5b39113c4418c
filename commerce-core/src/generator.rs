//! A deterministic synthetic catalog of any size (feature `generator`): a category
//! tree, sellers, and products whose titles and descriptions come from word lists in
//! English, Vietnamese, German, French and Spanish, with prices in minor units,
//! ratings, stock and units sold.
//!
//! The same seed gives the same catalog, and product `i` can be made on its own
//! (random access), so benchmarks build any slice in parallel and the example
//! server seeds its demo data from it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::catalog::{Category, Product, ProductStatus, Seller, TaxClass, Variant};
use crate::error::Result;
use crate::id::{CategoryId, ProductId, SellerId, Sku};
use crate::money::{Currency, Money};
use crate::search::{SearchDocument, Signals, StockLevel};

/// SplitMix64: a tiny, well-distributed generator, seeded per product for random
/// access.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n > 0`; 0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    /// One element of a non-empty slice (the first when `items` has one element).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[i.min(items.len().saturating_sub(1))]
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A UUID made of random bits (version 4 layout).
    pub fn uuid(&mut self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// A leaf of the category tree: its path and the nouns of its products in each
/// language.
struct Leaf {
    path: [&'static str; 3],
    nouns: &'static [&'static str],
    /// Typical price range in cents.
    price: (i64, i64),
}

const LEAVES: &[Leaf] = &[
    Leaf {
        path: ["Fashion", "Tops", "T-shirts"],
        nouns: &[
            "T-shirt",
            "Tee",
            "Áo thun",
            "Áo phông",
            "T-Shirt Herren",
            "Tee-shirt",
            "Camiseta",
        ],
        price: (900, 4_500),
    },
    Leaf {
        path: ["Fashion", "Tops", "Shirts"],
        nouns: &["Shirt", "Áo sơ mi", "Hemd", "Chemise", "Camisa"],
        price: (1_500, 8_000),
    },
    Leaf {
        path: ["Fashion", "Tops", "Hoodies"],
        nouns: &[
            "Hoodie",
            "Sweatshirt",
            "Áo hoodie",
            "Kapuzenpullover",
            "Sudadera",
        ],
        price: (2_500, 9_000),
    },
    Leaf {
        path: ["Fashion", "Bottoms", "Jeans"],
        nouns: &["Jeans", "Quần jean", "Quần bò", "Jeanshose", "Vaqueros"],
        price: (2_500, 12_000),
    },
    Leaf {
        path: ["Fashion", "Shoes", "Sneakers"],
        nouns: &[
            "Sneakers",
            "Trainers",
            "Giày thể thao",
            "Turnschuhe",
            "Baskets",
            "Zapatillas",
        ],
        price: (4_000, 20_000),
    },
    Leaf {
        path: ["Fashion", "Accessories", "Bags"],
        nouns: &[
            "Backpack",
            "Handbag",
            "Túi xách",
            "Ba lô",
            "Rucksack",
            "Sac à dos",
            "Mochila",
        ],
        price: (1_500, 30_000),
    },
    Leaf {
        path: ["Fashion", "Accessories", "Watches"],
        nouns: &["Watch", "Đồng hồ", "Armbanduhr", "Montre", "Reloj"],
        price: (3_000, 90_000),
    },
    Leaf {
        path: ["Electronics", "Audio", "Headphones"],
        nouns: &[
            "Headphones",
            "Earbuds",
            "Tai nghe",
            "Kopfhörer",
            "Casque",
            "Auriculares",
        ],
        price: (1_500, 40_000),
    },
    Leaf {
        path: ["Electronics", "Audio", "Speakers"],
        nouns: &["Speaker", "Loa", "Lautsprecher", "Enceinte", "Altavoz"],
        price: (2_000, 50_000),
    },
    Leaf {
        path: ["Electronics", "Phones", "Smartphones"],
        nouns: &["Smartphone", "Điện thoại", "Handy", "Téléphone", "Teléfono"],
        price: (10_000, 150_000),
    },
    Leaf {
        path: ["Electronics", "Computers", "Keyboards"],
        nouns: &["Keyboard", "Bàn phím", "Tastatur", "Clavier", "Teclado"],
        price: (1_500, 25_000),
    },
    Leaf {
        path: ["Electronics", "Computers", "Laptops"],
        nouns: &[
            "Laptop",
            "Máy tính xách tay",
            "Notebook",
            "Ordinateur portable",
            "Portátil",
        ],
        price: (30_000, 300_000),
    },
    Leaf {
        path: ["Home", "Kitchen", "Cookware"],
        nouns: &[
            "Frying pan",
            "Saucepan",
            "Chảo",
            "Nồi",
            "Bratpfanne",
            "Poêle",
            "Sartén",
        ],
        price: (1_200, 15_000),
    },
    Leaf {
        path: ["Home", "Kitchen", "Appliances"],
        nouns: &[
            "Kettle",
            "Blender",
            "Nồi cơm điện",
            "Ấm đun nước",
            "Wasserkocher",
            "Bouilloire",
            "Licuadora",
        ],
        price: (2_000, 30_000),
    },
    Leaf {
        path: ["Home", "Furniture", "Chairs"],
        nouns: &["Chair", "Armchair", "Ghế", "Stuhl", "Chaise", "Silla"],
        price: (3_000, 60_000),
    },
    Leaf {
        path: ["Home", "Furniture", "Sofas"],
        nouns: &["Sofa", "Couch", "Ghế sofa", "Sofa Größe L", "Canapé"],
        price: (30_000, 250_000),
    },
    Leaf {
        path: ["Home", "Lighting", "Lamps"],
        nouns: &[
            "Lamp",
            "Desk lamp",
            "Đèn bàn",
            "Đèn ngủ",
            "Lampe",
            "Lámpara",
        ],
        price: (1_500, 20_000),
    },
    Leaf {
        path: ["Sports", "Outdoor", "Tents"],
        nouns: &["Tent", "Lều cắm trại", "Zelt", "Tente", "Tienda de campaña"],
        price: (4_000, 60_000),
    },
    Leaf {
        path: ["Sports", "Fitness", "Yoga"],
        nouns: &[
            "Yoga mat",
            "Thảm yoga",
            "Yogamatte",
            "Tapis de yoga",
            "Esterilla",
        ],
        price: (1_500, 9_000),
    },
    Leaf {
        path: ["Sports", "Cycling", "Bicycles"],
        nouns: &["Bicycle", "Xe đạp", "Fahrrad", "Vélo", "Bicicleta"],
        price: (15_000, 200_000),
    },
    Leaf {
        path: ["Beauty", "Skincare", "Creams"],
        nouns: &[
            "Face cream",
            "Kem dưỡng da",
            "Gesichtscreme",
            "Crème visage",
            "Crema facial",
        ],
        price: (800, 12_000),
    },
    Leaf {
        path: ["Toys", "Building", "Blocks"],
        nouns: &[
            "Building blocks",
            "Đồ chơi xếp hình",
            "Bausteine",
            "Jeu de construction",
            "Bloques",
        ],
        price: (1_000, 20_000),
    },
    Leaf {
        path: ["Books", "Fiction", "Novels"],
        nouns: &["Novel", "Tiểu thuyết", "Roman", "Novela"],
        price: (500, 4_000),
    },
    Leaf {
        path: ["Garden", "Tools", "Shovels"],
        nouns: &["Shovel", "Xẻng", "Schaufel", "Pelle", "Pala"],
        price: (1_000, 8_000),
    },
];

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Premium",
    "Organic",
    "Wireless",
    "Vintage",
    "Compact",
    "Ergonomic",
    "Waterproof",
    "Lightweight",
    "Portable",
    "Cozy",
    "Modern",
    "Elegant",
    "Durable",
    "Cao cấp",
    "Chính hãng",
    "Thời trang",
    "Giá rẻ",
    "Mới",
    "Nhẹ",
    "Bền",
    "Hochwertig",
    "Leicht",
    "Wasserdicht",
    "Élégant",
    "Léger",
    "Moderne",
    "Ligero",
    "Elegante",
    "Resistente",
];

const COLORS: &[&str] = &[
    "Black",
    "White",
    "Red",
    "Blue",
    "Green",
    "Grey",
    "Beige",
    "Navy",
    "Màu đen",
    "Màu trắng",
    "Màu đỏ",
    "Màu xanh",
    "Schwarz",
    "Weiß",
    "Grün",
    "Noir",
    "Bleu",
    "Rouge",
    "Negro",
    "Azul",
];

const MATERIALS: &[&str] = &[
    "Cotton",
    "Leather",
    "Steel",
    "Bamboo",
    "Wool",
    "Linen",
    "Aluminium",
    "Ceramic",
    "Oak",
    "Bằng da",
    "Vải cotton",
    "Gỗ sồi",
    "Baumwolle",
    "Leder",
    "Edelstahl",
    "Coton",
    "Cuir",
    "Algodón",
    "Cuero",
];

const DESCRIPTION: &[&str] = &[
    "designed",
    "for",
    "everyday",
    "use",
    "with",
    "a",
    "comfortable",
    "fit",
    "and",
    "long",
    "lasting",
    "quality",
    "easy",
    "to",
    "clean",
    "perfect",
    "gift",
    "sản",
    "phẩm",
    "chất",
    "lượng",
    "cao",
    "phù",
    "hợp",
    "mọi",
    "lứa",
    "tuổi",
    "giao",
    "hàng",
    "nhanh",
    "für",
    "den",
    "Alltag",
    "mit",
    "hoher",
    "Qualität",
    "pour",
    "tous",
    "les",
    "jours",
    "qualité",
    "para",
    "uso",
    "diario",
    "calidad",
    "garantía",
    "warranty",
    "included",
    "eco",
    "friendly",
    "handmade",
    "imported",
    "bestseller",
    "limited",
    "edition",
];

const SELLER_WORDS: &[&str] = &[
    "Saigon", "Hanoi", "Berlin", "Lyon", "Madrid", "Austin", "Nordic", "Golden", "Lotus", "Maple",
    "Harbor", "Summit",
];
const SELLER_KINDS: &[&str] = &[
    "Store",
    "Shop",
    "Cửa hàng",
    "Laden",
    "Boutique",
    "Tienda",
    "Outlet",
];

/// A generated product with what the catalog does not hold: its seller's name,
/// stock, ratings and sales.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GeneratedProduct {
    /// The catalog product (active, one to three variants).
    pub product: Product,
    /// Its seller's name.
    pub seller_name: String,
    /// Stock, ratings and units sold.
    pub signals: Signals,
}

impl GeneratedProduct {
    /// The search document of this product, signals included.
    pub fn search_document(&self) -> Result<SearchDocument> {
        let mut doc = SearchDocument::from_product(&self.product, &self.seller_name)?;
        doc.signals = self.signals.clone();
        Ok(doc)
    }
}

/// The synthetic catalog for one seed.
#[derive(Clone, Debug)]
pub struct CatalogGenerator {
    seed: u64,
    currency: Currency,
    categories: Vec<Category>,
    /// Index into `categories` of each leaf, in [`LEAVES`] order.
    leaves: Vec<usize>,
    sellers: Vec<Seller>,
    epoch: DateTime<Utc>,
}

fn slug(name: &str) -> String {
    let folded = crate::search::text::fold(name);
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

impl CatalogGenerator {
    /// The catalog of `seed` with `sellers` sellers (at least 1), priced in USD.
    pub fn new(seed: u64, sellers: usize) -> Self {
        let mut rng = Rng::new(seed ^ 0xC0FF_EE00);
        let mut categories: Vec<Category> = Vec::new();
        let mut leaves = Vec::new();
        for leaf in LEAVES {
            let mut parent: Option<CategoryId> = None;
            let mut path_slug = String::new();
            for name in leaf.path {
                if !path_slug.is_empty() {
                    path_slug.push('-');
                }
                path_slug.push_str(&slug(name));
                let found = categories.iter().position(|c| c.slug == path_slug);
                let index = match found {
                    Some(i) => i,
                    None => {
                        categories.push(Category {
                            id: CategoryId::from_uuid(rng.uuid()),
                            parent_id: parent,
                            name: name.to_owned(),
                            slug: path_slug.clone(),
                        });
                        categories.len() - 1
                    }
                };
                parent = Some(categories[index].id);
                if name == leaf.path[2] {
                    leaves.push(index);
                }
            }
        }
        let sellers = (0..sellers.max(1))
            .map(|i| {
                let name = format!(
                    "{} {} {}",
                    rng.pick(SELLER_WORDS),
                    rng.pick(SELLER_KINDS),
                    i + 1
                );
                let handle = slug(&name);
                Seller::new(
                    SellerId::from_uuid(rng.uuid()),
                    name,
                    handle.clone(),
                    format!("{handle}@sellers.example.com"),
                )
            })
            .collect();
        CatalogGenerator {
            seed,
            currency: Currency::USD,
            categories,
            leaves,
            sellers,
            epoch: Utc
                .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        }
    }

    /// The category tree (three levels).
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// The sellers.
    pub fn sellers(&self) -> &[Seller] {
        &self.sellers
    }

    /// Every word titles are made of, folded and deduplicated (for query mixes).
    pub fn vocabulary() -> Vec<String> {
        let mut words: Vec<String> = LEAVES
            .iter()
            .flat_map(|l| l.nouns.iter())
            .chain(ADJECTIVES)
            .chain(COLORS)
            .chain(MATERIALS)
            .flat_map(|s| crate::search::text::folded_words(s))
            .filter(|w| w.len() >= 3)
            .collect();
        words.sort();
        words.dedup();
        words
    }

    /// Product number `index` (the same for the same seed and index).
    pub fn product(&self, index: u64) -> GeneratedProduct {
        let mut rng = Rng::new(self.seed.wrapping_mul(0x1000_0000_01B3) ^ index);
        let leaf_no = usize::try_from(rng.below(LEAVES.len() as u64)).unwrap_or(0);
        let leaf = &LEAVES[leaf_no];
        let noun = *rng.pick(leaf.nouns);
        let adjective = *rng.pick(ADJECTIVES);
        let color = *rng.pick(COLORS);
        let material = *rng.pick(MATERIALS);
        let model = format!(
            "{}{}",
            (b'A' + (rng.below(26) as u8)) as char,
            rng.below(1000)
        );
        let title = format!("{adjective} {noun} {material} {model}");
        let words = 12 + rng.below(14);
        let mut description = format!("{noun} {color}.");
        for _ in 0..words {
            description.push(' ');
            let word: &&str = rng.pick(DESCRIPTION);
            description.push_str(word);
        }
        let id = ProductId::from_uuid(rng.uuid());
        let seller = rng.pick(&self.sellers).clone();
        let (lo, hi) = leaf.price;
        let base =
            (lo + i64::try_from(rng.below(u64::try_from(hi - lo).unwrap_or(1))).unwrap_or(0)) / 100
                * 100
                + 99;
        let sizes = ["S", "M", "L"];
        let n_variants = 1 + rng.below(3) as usize;
        let variants: Vec<Variant> = (0..n_variants)
            .map(|v| Variant {
                sku: Sku::new(format!("G{index}-{v}")).unwrap_or_else(|_| unreachable_sku()),
                product_id: id,
                name: format!("{color} / {}", sizes[v % 3]),
                price: Money::from_minor(base + i64::try_from(v).unwrap_or(0) * 500, self.currency),
                compare_at_price: None,
                weight_grams: 100 + u32::try_from(rng.below(5_000)).unwrap_or(0),
                tax_class: TaxClass::standard(),
                options: Vec::new(),
            })
            .collect();
        // Popularity follows a steep curve: few products sell a lot.
        let r = rng.below(1_000);
        let units_sold = (r * r * r) / 50_000_000 + rng.below(5);
        let rating_count = u32::try_from(rng.below(1 + units_sold.min(2_000))).unwrap_or(0);
        let rating_average = if rating_count == 0 {
            Decimal::ZERO
        } else {
            Decimal::new(100 + i64::try_from(rng.below(401)).unwrap_or(0), 2)
        };
        let stock = variants
            .iter()
            .map(|v| StockLevel {
                sku: v.sku.clone(),
                location: "main".to_owned(),
                available: if rng.chance(15) {
                    0
                } else {
                    1 + rng.below(200)
                },
            })
            .collect();
        let created_at =
            self.epoch + Duration::minutes(i64::try_from(rng.below(1_000_000)).unwrap_or(0));
        let category = &self.categories[self.leaves[leaf_no]];
        GeneratedProduct {
            product: Product {
                id,
                seller_id: seller.id,
                title,
                slug: format!("{}-{index}", slug(noun)),
                description,
                category_ids: vec![category.id],
                status: ProductStatus::Active,
                brand: None,
                tags: vec![color.to_owned(), material.to_owned()],
                images: Vec::new(),
                options: Vec::new(),
                variants,
                created_at,
                updated_at: created_at,
            },
            seller_name: seller.name,
            signals: Signals {
                stock,
                rating_count,
                rating_average,
                units_sold,
            },
        }
    }

    /// Products `range.start .. range.end`.
    pub fn products(
        &self,
        range: std::ops::Range<u64>,
    ) -> impl Iterator<Item = GeneratedProduct> + '_ {
        range.map(|i| self.product(i))
    }
}

/// A SKU made of ASCII letters, digits and '-' is always valid; this is the fallback
/// that keeps `product` total.
#[cold]
fn unreachable_sku() -> Sku {
    Sku::new("G").unwrap_or_else(|_| unreachable_sku())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_generator_is_deterministic_and_valid() {
        let a = CatalogGenerator::new(7, 20);
        let b = CatalogGenerator::new(7, 20);
        assert_eq!(a.categories(), b.categories());
        for i in [0, 1, 999, 123_456] {
            let (x, y) = (a.product(i), b.product(i));
            assert_eq!(x.product, y.product);
            x.product.validate().unwrap();
            let doc = x.search_document().unwrap();
            assert!(doc.price_minor() > 0);
        }
        let vi = (0..500).any(|i| {
            a.product(i).product.title.contains('ệ') || a.product(i).product.title.contains('ồ')
        });
        assert!(vi, "Vietnamese titles with accents");
        assert_ne!(
            a.product(1).product.id,
            CatalogGenerator::new(8, 20).product(1).product.id
        );
        assert!(CatalogGenerator::vocabulary().len() > 100);
    }
}
