//! What we build for Payme's side: the Basic-auth header it sends us and checkout links.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The account field configured in our merchant cabinet: the application number.
pub const ACCOUNT_FIELD: &str = "application";

/// The `Authorization` header value Payme sends with `key`: `Basic base64("Paycom:" + key)`.
/// Our own sandbox uses it to call the merchant endpoint exactly as Payme would.
pub fn basic_auth_header(key: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("Paycom:{key}")))
}

/// The checkout link for paying `amount_tiyin` for `application`:
/// `https://checkout.paycom.uz/` + base64 of `m=<merchant>;ac.application=<n>;a=<tiyin>[;l=<lang>][;c=<return url>]`.
pub fn checkout_url(
    merchant_id: &str,
    application: &str,
    amount_tiyin: i64,
    language: Option<&str>,
    return_url: Option<&str>,
) -> String {
    let mut params = format!("m={merchant_id};ac.{ACCOUNT_FIELD}={application};a={amount_tiyin}");
    if let Some(language) = language {
        params.push_str(&format!(";l={language}"));
    }
    if let Some(url) = return_url {
        params.push_str(&format!(";c={url}"));
    }
    format!("https://checkout.paycom.uz/{}", BASE64.encode(params))
}
