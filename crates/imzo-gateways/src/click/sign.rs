//! Click's md5 signature, the pay link, and form encoding for callers playing Click.

use md5::{Digest as _, Md5};

/// The signed fields of a Prepare (`merchant_prepare_id` absent) or Complete, exactly as
/// they travel (text, not numbers: `amount` is signed as sent, e.g. `"18900.00"`).
#[derive(Debug, Clone, Copy)]
pub struct SignedFields<'a> {
    /// Click's transaction id.
    pub click_trans_id: &'a str,
    /// Our service id.
    pub service_id: &'a str,
    /// Our application number.
    pub merchant_trans_id: &'a str,
    /// Our id from Prepare (Complete only).
    pub merchant_prepare_id: Option<&'a str>,
    /// Amount in sum as sent.
    pub amount: &'a str,
    /// `0` Prepare, `1` Complete.
    pub action: &'a str,
    /// `YYYY-MM-DD HH:MM:SS` as sent.
    pub sign_time: &'a str,
}

impl SignedFields<'_> {
    /// `md5(click_trans_id + service_id + SECRET + merchant_trans_id [+ merchant_prepare_id]
    /// + amount + action + sign_time)`, lower-case hex.
    pub fn sign(&self, secret: &str) -> String {
        let mut md5 = Md5::new();
        md5.update(self.click_trans_id.as_bytes());
        md5.update(self.service_id.as_bytes());
        md5.update(secret.as_bytes());
        md5.update(self.merchant_trans_id.as_bytes());
        if let Some(prepare_id) = self.merchant_prepare_id {
            md5.update(prepare_id.as_bytes());
        }
        md5.update(self.amount.as_bytes());
        md5.update(self.action.as_bytes());
        md5.update(self.sign_time.as_bytes());
        hex::encode(md5.finalize())
    }
}

/// Percent-encodes `(name, value)` pairs as `application/x-www-form-urlencoded`.
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for b in text.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(char::from(b)),
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// The Click pay link:
/// `https://my.click.uz/services/pay?service_id=..&merchant_id=..&amount=N.NN&transaction_param=<n>[&return_url=..]`.
pub fn pay_url(service_id: &str, merchant_id: &str, application: &str, amount_tiyin: i64, return_url: Option<&str>) -> String {
    let amount = crate::money::tiyin_to_sum(amount_tiyin);
    let mut pairs = vec![
        ("service_id", service_id),
        ("merchant_id", merchant_id),
        ("amount", amount.as_str()),
        ("transaction_param", application),
    ];
    if let Some(url) = return_url {
        pairs.push(("return_url", url));
    }
    format!("https://my.click.uz/services/pay?{}", encode_form(&pairs))
}
