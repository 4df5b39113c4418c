//! The message templates, compiled into the binary (`include_str!`) and rendered
//! with minijinja: one template per [`NotificationKind`] with a block per part
//! (`subject`, `text`, `html`, `sms`, `push`). Only the `html` block escapes HTML.

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Value, context};

use commerce_orders::notification::{MessageContext, NotificationKind};

use crate::error::{NotifyError, Result};

const TEMPLATES: &[(&str, &str)] = &[
    ("macros.html", include_str!("../templates/macros.html")),
    ("macros.txt", include_str!("../templates/macros.txt")),
    (
        "order_confirmed",
        include_str!("../templates/order_confirmed.j2"),
    ),
    (
        "payment_failed",
        include_str!("../templates/payment_failed.j2"),
    ),
    ("shipped", include_str!("../templates/shipped.j2")),
    (
        "out_for_delivery",
        include_str!("../templates/out_for_delivery.j2"),
    ),
    ("delivered", include_str!("../templates/delivered.j2")),
    ("cancelled", include_str!("../templates/cancelled.j2")),
    ("refunded", include_str!("../templates/refunded.j2")),
    (
        "password_reset",
        include_str!("../templates/password_reset.j2"),
    ),
    ("welcome", include_str!("../templates/welcome.j2")),
];

/// A message rendered for every channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Email subject.
    pub subject: String,
    /// Email text part.
    pub text: String,
    /// Email HTML part.
    pub html: String,
    /// SMS body.
    pub sms: String,
    /// Push body (the subject is its title).
    pub push: String,
}

/// The compiled templates. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Templates {
    env: Environment<'static>,
    shop_name: String,
}

impl Templates {
    /// The templates, signing messages as `shop_name`. Fails only if a template does
    /// not compile (a test renders every one).
    pub fn new(shop_name: impl Into<String>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(NotifyError::template)?,
        );
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(NotifyError::template)?;
        }
        Ok(Templates {
            env,
            shop_name: shop_name.into(),
        })
    }

    /// Renders every part of the message of `kind` with `ctx`.
    pub fn render(&self, kind: NotificationKind, ctx: &MessageContext) -> Result<Rendered> {
        let template = self
            .env
            .get_template(kind.as_str())
            .map_err(NotifyError::template)?;
        let values = context! { shop_name => &self.shop_name, ..Value::from(Serde(ctx)) };
        let mut captured = template
            .render_captured(values)
            .map_err(NotifyError::template)?;
        let mut block = |name: &str| -> Result<String> {
            captured
                .with_state_mut(|state| state.render_block(name))
                .map_err(NotifyError::template)
        };
        Ok(Rendered {
            subject: block("subject")?.trim().to_owned(),
            text: block("text")?.trim().to_owned() + "\n",
            html: block("html")?.trim().to_owned() + "\n",
            sms: block("sms")?.trim().to_owned(),
            push: block("push")?.trim().to_owned(),
        })
    }
}
