//! Protocol checks that need no books.

use super::*;

#[test]
fn times_are_tashkent() {
    // 2026-12-03 05:00:00 UTC is 10:00 in Tashkent.
    let ms = 1_796_274_000_000;
    assert_eq!(timestamp(ms), "2026-12-03 10:00:00");
    assert_eq!(parse_timestamp("2026-12-03 10:00:00"), Some(ms));
    assert_eq!(parse_timestamp("2026-12-03T10:00:00"), None);
    assert_eq!(parse_timestamp("2026-13-03 10:00:00"), None);
}

#[test]
fn links_and_headers() {
    assert_eq!(pay_url("m42", "123456789012", 1_890_000), "https://app.paynet.uz/?m=m42&c=123456789012&a=1890000");
    assert_eq!(basic_auth_header("paynet", "pw"), "Basic cGF5bmV0OnB3");
}
