//! Server-side charts of the dashboard as SVG text: a line chart (figures per day), a
//! horizontal bar chart (rankings) and a funnel.
//!
//! Drawn here rather than with a chart crate: three small shapes, text left to the
//! browser's fonts (no font files embedded for measuring), coordinates computed in
//! `Decimal` (no float arithmetic), and accessible markup (`role="img"`, `<title>`,
//! `<desc>`, and every value also printed as text).

use std::fmt::Write as _;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::report::Dashboard;

const WIDTH: i64 = 720;
const HEIGHT: i64 = 320;
const LEFT: i64 = 72;
const RIGHT: i64 = 24;
const TOP: i64 = 48;
const BOTTOM: i64 = 48;
/// Colours with at least 4.5:1 contrast on white.
const PALETTE: [&str; 5] = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c"];

/// One line of a line chart.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Value per day, in day order.
    pub points: Vec<(NaiveDate, Decimal)>,
}

/// One bar or funnel step.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Bar {
    /// What it is.
    pub label: String,
    /// Its value (negative values are drawn as 0).
    pub value: Decimal,
    /// Text printed beside it (the value with its unit).
    pub text: String,
}

/// Escapes text for SVG content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The smallest 1, 2 or 5 times a power of ten at or above `max` (1 for 0).
fn nice_ceiling(max: Decimal) -> Decimal {
    if max <= Decimal::ZERO {
        return Decimal::ONE;
    }
    let mut step = Decimal::ONE;
    while step * Decimal::TEN <= max {
        step *= Decimal::TEN;
    }
    while step > max * Decimal::TEN {
        step /= Decimal::TEN;
    }
    for m in [1, 2, 5, 10, 20, 50] {
        let candidate = step * Decimal::from(m);
        if candidate >= max {
            return candidate;
        }
    }
    step * Decimal::from(100)
}

fn fmt_num(d: Decimal) -> String {
    d.round_dp(2).normalize().to_string()
}

/// An amount with its currency's minor units (`841.80 USD`).
fn money_text(amount: Decimal, currency: &str) -> String {
    let dp = commerce_core::Currency::from_code(currency)
        .map(|c| c.minor_units())
        .unwrap_or(2);
    let rounded = amount.round_dp(dp);
    format!("{rounded:.prec$} {currency}", prec = dp as usize)
}

fn px(d: Decimal) -> String {
    d.round_dp(1).normalize().to_string()
}

fn open(out: &mut String, id: &str, title: &str, desc: &str) {
    open_sized(out, id, title, desc, HEIGHT);
}

fn open_sized(out: &mut String, id: &str, title: &str, desc: &str, height: i64) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-t {id}-d" font-family="system-ui, sans-serif" font-size="13"><title id="{id}-t">{t}</title><desc id="{id}-d">{d}</desc><rect width="{WIDTH}" height="{height}" fill="#fff"/><text x="{LEFT}" y="24" font-size="16" font-weight="600" fill="#111">{t}</text>"##,
        t = escape(title),
        d = escape(desc),
    );
}

/// A line chart of values per day. `id` must be unique in the page (it ties the
/// title and description to the image for screen readers).
pub fn line_chart(id: &str, title: &str, series: &[Series]) -> String {
    let days: Vec<NaiveDate> = series
        .first()
        .map(|s| s.points.iter().map(|p| p.0).collect())
        .unwrap_or_default();
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .max()
        .unwrap_or(Decimal::ZERO);
    let integers = series
        .iter()
        .all(|s| s.points.iter().all(|p| p.1.fract().is_zero()));
    let mut top = nice_ceiling(max);
    if integers && !(top / Decimal::from(4)).fract().is_zero() {
        // Whole-number ticks for counts: 10 -> 12, 2 -> 4.
        top = (top / Decimal::from(4)).ceil() * Decimal::from(4);
    }
    let plot_w = Decimal::from(WIDTH - LEFT - RIGHT);
    let plot_h = Decimal::from(HEIGHT - TOP - BOTTOM);
    let n = days.len();
    let x_of = |i: usize| -> Decimal {
        if n <= 1 {
            Decimal::from(LEFT) + plot_w / Decimal::TWO
        } else {
            Decimal::from(LEFT) + plot_w * Decimal::from(i) / Decimal::from(n - 1)
        }
    };
    let y_of = |v: Decimal| -> Decimal {
        let v = v.max(Decimal::ZERO);
        Decimal::from(TOP) + plot_h - plot_h * v / top
    };
    let desc = match (days.first(), days.last()) {
        (Some(a), Some(b)) => format!(
            "{} from {a} to {b}; highest value {}",
            series
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            fmt_num(max)
        ),
        _ => "no data in the range".to_owned(),
    };
    let mut out = String::new();
    open(&mut out, id, title, &desc);
    // Grid and y labels.
    for i in 0..=4 {
        let v = top * Decimal::from(i) / Decimal::from(4);
        let y = px(y_of(v));
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y}" y2="{y}" stroke="#d4d4d8"/><text x="{}" y="{y}" dy="4" text-anchor="end" fill="#333">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 8,
            fmt_num(v)
        );
    }
    // X labels: at most 7, first and last always.
    let step = n.div_ceil(7).max(1);
    for (i, day) in days.iter().enumerate() {
        if i % step == 0 || i + 1 == n {
            let _ = write!(
                out,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
                px(x_of(i)),
                HEIGHT - BOTTOM + 20,
                day.format("%b %d")
            );
        }
    }
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{},{}", px(x_of(i)), px(y_of(p.1))))
            .collect();
        let _ = write!(
            out,
            r##"<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{}"/>"##,
            points.join(" ")
        );
        for (i, p) in s.points.iter().enumerate() {
            let _ = write!(
                out,
                r##"<circle cx="{}" cy="{}" r="3" fill="{colour}"><title>{} {}: {}</title></circle>"##,
                px(x_of(i)),
                px(y_of(p.1)),
                escape(&s.name),
                p.0,
                fmt_num(p.1)
            );
        }
        // Legend.
        let lx = LEFT + 260 + i64::try_from(k).unwrap_or(0) * 120;
        let _ = write!(
            out,
            r##"<rect x="{lx}" y="14" width="12" height="12" fill="{colour}"/><text x="{}" y="24" fill="#111">{}</text>"##,
            lx + 16,
            escape(&s.name)
        );
    }
    out.push_str("</svg>");
    out
}

/// A horizontal bar chart (rankings read best with the labels on the left).
pub fn bar_chart(id: &str, title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(Decimal::ZERO);
    let top = if max > Decimal::ZERO {
        max
    } else {
        Decimal::ONE
    };
    let label_w: i64 = 200;
    let x0 = Decimal::from(label_w + 16);
    let plot_w = Decimal::from(WIDTH - label_w - 16 - 200);
    let rows = i64::try_from(bars.len().max(1)).unwrap_or(1);
    let row_h: i64 = 30;
    let height = TOP + rows * row_h + 16;
    let desc = if bars.is_empty() {
        "no data in the range".to_owned()
    } else {
        bars.iter()
            .map(|b| format!("{}: {}", b.label, b.text))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = String::new();
    open_sized(&mut out, id, title, &desc, height);
    if bars.is_empty() {
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#333">No data in this range</text>"##,
            WIDTH / 2,
            TOP + 20
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + i64::try_from(i).unwrap_or(0) * row_h;
        let w = plot_w * b.value.max(Decimal::ZERO) / top;
        let label: String = if b.label.chars().count() > 28 {
            format!("{}…", b.label.chars().take(27).collect::<String>())
        } else {
            b.label.clone()
        };
        let _ = write!(
            out,
            r##"<text x="{label_w}" y="{}" text-anchor="end" fill="#111">{}</text><rect x="{}" y="{}" width="{}" height="{}" fill="{}"/><text x="{}" y="{}" fill="#111">{}</text>"##,
            y + row_h / 2 + 4,
            escape(&label),
            px(x0),
            y + 3,
            px(w),
            row_h - 6,
            PALETTE[0],
            px(x0 + w + Decimal::from(6)),
            y + row_h / 2 + 4,
            escape(&b.text)
        );
    }
    out.push_str("</svg>");
    out
}

/// A funnel: one centred bar per step, its width proportional to its count, with the
/// count and the percentage of the first step printed on it.
pub fn funnel_chart(id: &str, title: &str, steps: &[Bar]) -> String {
    let first = steps.first().map(|b| b.value).unwrap_or(Decimal::ZERO);
    let top = steps
        .iter()
        .map(|b| b.value)
        .max()
        .filter(|m| *m > Decimal::ZERO)
        .unwrap_or(Decimal::ONE);
    let desc = steps
        .iter()
        .map(|b| format!("{}: {}", b.label, b.text))
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::new();
    open(&mut out, id, title, &desc);
    let rows = i64::try_from(steps.len().max(1)).unwrap_or(1);
    let row_h = ((HEIGHT - TOP - 16) / rows).min(80);
    let max_w = Decimal::from(WIDTH - 2 * 180);
    let centre = Decimal::from(WIDTH / 2);
    for (i, b) in steps.iter().enumerate() {
        let y = TOP + i64::try_from(i).unwrap_or(0) * row_h;
        let w = (max_w * b.value.max(Decimal::ZERO) / top).max(Decimal::TWO);
        let share = crate::report::percent(
            b.value.trunc().try_into().unwrap_or(0),
            first.trunc().try_into().unwrap_or(0),
        )
        .map(|p| format!(" ({}%)", fmt_num(p)))
        .unwrap_or_default();
        let _ = write!(
            out,
            r##"<rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{}"/><text x="170" y="{}" text-anchor="end" fill="#111">{}</text><text x="{}" y="{}" fill="#111">{}{}</text>"##,
            px(centre - w / Decimal::TWO),
            y + 4,
            px(w),
            row_h - 8,
            PALETTE[i % PALETTE.len()],
            y + row_h / 2 + 4,
            escape(&b.label),
            WIDTH - 170,
            y + row_h / 2 + 4,
            escape(&b.text),
            share
        );
    }
    out.push_str("</svg>");
    out
}

/// Revenue per day in `currency` (amounts of different currencies are never drawn
/// on one axis).
pub fn revenue_chart(d: &Dashboard, currency: &str) -> String {
    let series: Vec<Series> = per_currency(d, |f| f.revenue)
        .into_iter()
        .filter(|s| s.name == currency)
        .collect();
    let series = if series.is_empty() {
        vec![Series {
            name: currency.to_owned(),
            points: d.range.days().map(|day| (day, Decimal::ZERO)).collect(),
        }]
    } else {
        series
    };
    line_chart(
        &format!("revenue-{}", currency.to_lowercase()),
        &format!("Revenue per day ({currency})"),
        &series,
    )
}

/// Orders per day, one line per currency.
pub fn orders_chart(d: &Dashboard) -> String {
    let series = per_currency(d, |f| Decimal::from(f.orders));
    line_chart("orders", "Orders per day", &series)
}

fn per_currency(
    d: &Dashboard,
    value: impl Fn(&crate::report::DayFigures) -> Decimal,
) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for f in &d.days {
        match series.last_mut() {
            Some(s) if s.name == f.currency => s.points.push((f.day, value(f))),
            _ => series.push(Series {
                name: f.currency.clone(),
                points: vec![(f.day, value(f))],
            }),
        }
    }
    if series.is_empty() {
        series.push(Series {
            name: "no sales".to_owned(),
            points: d.range.days().map(|day| (day, Decimal::ZERO)).collect(),
        });
    }
    series
}

/// Top products by revenue in `currency`.
pub fn top_products_chart(d: &Dashboard, currency: &str) -> String {
    bar_chart(
        &format!("top-products-{}", currency.to_lowercase()),
        &format!("Top products by revenue ({currency})"),
        &ranked(&d.top_products, currency),
    )
}

/// Top categories by revenue in `currency`.
pub fn top_categories_chart(d: &Dashboard, currency: &str) -> String {
    bar_chart(
        &format!("top-categories-{}", currency.to_lowercase()),
        &format!("Top categories by revenue ({currency})"),
        &ranked(&d.top_categories, currency),
    )
}

/// Orders per payment method.
pub fn payment_methods_chart(d: &Dashboard) -> String {
    let mut methods: Vec<&crate::report::Ranked> = d.payment_methods.iter().collect();
    methods.sort_by(|a, b| {
        (&a.currency, std::cmp::Reverse(a.orders), &a.key).cmp(&(
            &b.currency,
            std::cmp::Reverse(b.orders),
            &b.key,
        ))
    });
    let bars: Vec<Bar> = methods
        .into_iter()
        .map(|r| Bar {
            label: format!("{} ({})", r.label.replace('_', " "), r.currency),
            value: Decimal::from(r.orders),
            text: format!(
                "{} orders, {}",
                r.orders,
                money_text(r.revenue, &r.currency)
            ),
        })
        .collect();
    bar_chart("payment-methods", "Payment methods", &bars)
}

fn ranked(items: &[crate::report::Ranked], currency: &str) -> Vec<Bar> {
    items
        .iter()
        .filter(|r| r.currency == currency)
        .map(|r| Bar {
            label: r.label.clone(),
            value: r.revenue,
            text: format!("{} · {} units", money_text(r.revenue, &r.currency), r.units),
        })
        .collect()
}

/// The funnel of the range.
pub fn funnel(d: &Dashboard) -> String {
    let f = &d.funnel;
    let step = |label: &str, n: i64| Bar {
        label: label.to_owned(),
        value: Decimal::from(n),
        text: n.to_string(),
    };
    funnel_chart(
        "funnel",
        &format!("Conversion funnel, {} to {}", d.range.from, d.range.to),
        &[
            step("Carts created", f.carts_created),
            step("Checkouts started", f.checkouts_started),
            step("Orders confirmed", f.orders_confirmed),
        ],
    )
}
