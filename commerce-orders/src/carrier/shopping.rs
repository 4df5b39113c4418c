//! Rate shopping: quotes from every configured carrier side by side, the cheapest and
//! the fastest marked.

use std::sync::Arc;

use serde::Serialize;

use commerce_core::{Address, Currency};

use super::{
    Carrier, CarrierCode, Parcel, RateQuote, RateRequest, ServiceLevel, parse_option_code,
};
use crate::error::{Error, Result};

/// One shipping option offered at checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShippingOption {
    /// The code to send as `CheckoutRequest::shipping_method` (`carrier:service`).
    pub code: String,
    /// Name shown to people, e.g. `UPS Ground (3 days)`.
    pub name: String,
    /// The quote behind it.
    pub quote: RateQuote,
    /// The cheapest option (ties: the faster one).
    pub cheapest: bool,
    /// The fastest option (ties: the cheaper one).
    pub fastest: bool,
}

/// The options of every carrier for one parcel, cheapest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShippingOptions {
    /// Options, by price then transit days.
    pub options: Vec<ShippingOption>,
}

impl ShippingOptions {
    /// The option marked cheapest.
    pub fn cheapest(&self) -> Option<&ShippingOption> {
        self.options.iter().find(|o| o.cheapest)
    }

    /// The option marked fastest.
    pub fn fastest(&self) -> Option<&ShippingOption> {
        self.options.iter().find(|o| o.fastest)
    }
}

/// The carriers a shop ships with and the warehouse parcels leave from.
#[derive(Clone, Debug)]
pub struct CarrierSet {
    carriers: Vec<Arc<dyn Carrier>>,
    origin: Address,
}

impl CarrierSet {
    /// `carriers` shipping from `origin`.
    pub fn new(carriers: Vec<Arc<dyn Carrier>>, origin: Address) -> Self {
        CarrierSet { carriers, origin }
    }

    /// Where parcels leave from.
    pub fn origin(&self) -> &Address {
        &self.origin
    }

    /// The carrier with `code`, if configured.
    pub fn carrier(&self, code: CarrierCode) -> Option<&Arc<dyn Carrier>> {
        self.carriers.iter().find(|c| c.code() == code)
    }

    /// Every configured carrier.
    pub fn carriers(&self) -> &[Arc<dyn Carrier>] {
        &self.carriers
    }

    fn request(&self, destination: &Address, parcel: Parcel, currency: Currency) -> RateRequest {
        RateRequest {
            origin: self.origin.clone(),
            destination: destination.clone(),
            parcel,
            currency,
        }
    }

    /// Quotes of every carrier for `parcel` to `destination`, cheapest and fastest
    /// marked. A carrier that does not serve the destination (or fails) is left out;
    /// when none answers, the first carrier's error.
    pub async fn options(
        &self,
        destination: &Address,
        parcel: Parcel,
        currency: Currency,
    ) -> Result<ShippingOptions> {
        let request = self.request(destination, parcel, currency);
        let mut quotes = Vec::new();
        let mut first_error = None;
        for carrier in &self.carriers {
            match carrier.rates(&request).await {
                Ok(q) => quotes.extend(q),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if quotes.is_empty()
            && let Some(e) = first_error
        {
            return Err(e);
        }
        Ok(mark(quotes))
    }

    /// The quote of the option `code` (`carrier:service`) for `parcel` to
    /// `destination`. `UnknownShippingMethod` when the code names no configured
    /// carrier's service on that route.
    pub async fn quote(
        &self,
        code: &str,
        destination: &Address,
        parcel: Parcel,
        currency: Currency,
    ) -> Result<RateQuote> {
        let unknown = || Error::UnknownShippingMethod(code.to_owned());
        let (carrier_code, service): (CarrierCode, ServiceLevel) =
            parse_option_code(code).ok_or_else(unknown)?;
        let carrier = self.carrier(carrier_code).ok_or_else(unknown)?;
        let quotes = carrier
            .rates(&self.request(destination, parcel, currency))
            .await?;
        quotes
            .into_iter()
            .find(|q| q.service == service)
            .ok_or_else(unknown)
    }
}

/// Sorts quotes by price then days and marks the cheapest and the fastest.
pub fn mark(mut quotes: Vec<RateQuote>) -> ShippingOptions {
    quotes.sort_by(|a, b| {
        a.price
            .amount()
            .cmp(&b.price.amount())
            .then(a.transit_days.cmp(&b.transit_days))
            .then(a.carrier.cmp(&b.carrier))
    });
    let fastest = quotes
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            a.transit_days
                .cmp(&b.transit_days)
                .then(a.price.amount().cmp(&b.price.amount()))
        })
        .map(|(i, _)| i);
    let options = quotes
        .into_iter()
        .enumerate()
        .map(|(i, quote)| ShippingOption {
            code: quote.option_code(),
            name: quote.display_name(),
            cheapest: i == 0,
            fastest: Some(i) == fastest,
            quote,
        })
        .collect();
    ShippingOptions { options }
}
