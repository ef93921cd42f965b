//! The portal in every language: no page shows an untranslated message key, every key
//! the scripts use exists, placeholders survive translation, and the language is chosen
//! by `?lang=`, the cookie or `Accept-Language`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::assets::ASSETS;
use super::i18n::{self, LANGUAGES, dictionary, t};
use super::messages::MESSAGES;
use super::pages::{PortalPage, html, language};
use axum::http::{HeaderMap, HeaderValue, header};
use imzo_ra::Language;
use imzo_ra::state::State;
use std::collections::BTreeSet;

/// The keys a script asks for with `T('key'` (every call in the assets uses a literal).
fn script_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for (name, _, source) in ASSETS {
        if !name.ends_with(".js") || name == "imzo-client.js" {
            continue;
        }
        for piece in source.split("T('").skip(1) {
            let key = piece.split('\'').next().unwrap();
            keys.insert(key.to_owned());
        }
    }
    // Built from the state's name: `state.X` and `note.X` for every state.
    for state in State::ALL {
        keys.insert(format!("state.{}", state.as_str()));
        keys.insert(format!("note.{}", state.as_str()));
        // The deadline job audits a move into a state as `application.<state>`.
        keys.insert(format!("audit.application.{}", state.as_str()));
    }
    // The console names every audit action an application's trail can hold.
    for action in [
        "application.code_resent",
        "application.submitted",
        "application.renewal_submitted",
        "payment.created",
        "payment.cancelled",
        "operator.viewed",
        "certificate.issued",
        "certificate.revocation_requested",
        "certificate.revoked",
        "certificate.held",
        "certificate.released",
    ] {
        keys.insert(format!("audit.{action}"));
    }
    keys
}

fn placeholders(text: &str) -> BTreeSet<String> {
    text.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(name, _)| name.to_owned())).collect()
}

fn strip_placeholders(text: &str) -> String {
    text.split('{').enumerate().map(|(i, p)| if i == 0 { p } else { p.split_once('}').map_or(p, |(_, rest)| rest) }).collect()
}

fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// Every page in `lang`: no `[[key]]`, the right `lang` attribute, every script key
/// translated, and the language's own script in the text.
fn check_language(lang: Language) {
    for page in PortalPage::ALL {
        let page_html = html(page, lang, "");
        assert!(!page_html.contains("[["), "{page:?} in {}: untranslated key near {:?}", i18n::tag(lang),
            page_html.split("[[").nth(1).map(|s| &s[..s.len().min(40)]));
        assert!(page_html.contains(&format!("<html lang=\"{}\"", i18n::tag(lang))), "{page:?}");
        // The dictionary the page's script reads is in the same language.
        assert!(page_html.contains("id=\"imzo-i18n\""), "{page:?}");
    }
    // The operator console is checked the same way.
    let console = super::console::html(lang, "");
    assert!(!console.contains("[["), "console in {}: untranslated key near {:?}", i18n::tag(lang),
        console.split("[[").nth(1).map(|s| &s[..s.len().min(40)]));
    assert!(console.contains(&format!("<html lang=\"{}\"", i18n::tag(lang))), "console");
    let dict = dictionary(lang);
    for key in script_keys() {
        let text = dict.get(key.as_str()).unwrap_or_else(|| panic!("script key {key} has no message"));
        assert!(!text.trim().is_empty(), "{key} is empty in {}", i18n::tag(lang));
    }
    let cyrillic = matches!(lang, Language::UzCyrl | Language::Ru);
    for m in MESSAGES {
        let text = t(lang, m.key);
        assert!(!text.trim().is_empty(), "{} is empty in {}", m.key, i18n::tag(lang));
        assert_eq!(placeholders(&text), placeholders(m.en), "placeholders of {} in {}", m.key, i18n::tag(lang));
        let words = strip_placeholders(&text);
        if cyrillic && words.chars().filter(|c| c.is_alphabetic()).count() > 3 {
            assert!(has_cyrillic(&text), "{} in {} has no Cyrillic letter: {text}", m.key, i18n::tag(lang));
        }
        if lang == Language::En || lang == Language::UzLatn {
            assert!(!has_cyrillic(&text), "{} in {} is in Cyrillic: {text}", m.key, i18n::tag(lang));
        }
    }
}

#[test]
fn no_untranslated_key_in_uzbek_latin() {
    check_language(Language::UzLatn);
}

#[test]
fn no_untranslated_key_in_uzbek_cyrillic() {
    check_language(Language::UzCyrl);
}

#[test]
fn no_untranslated_key_in_russian() {
    check_language(Language::Ru);
}

#[test]
fn no_untranslated_key_in_english() {
    check_language(Language::En);
}

#[test]
fn a_missing_key_shows_as_a_marker_the_tests_catch() {
    assert_eq!(t(Language::Ru, "no.such.key"), "[[no.such.key]]");
}

#[test]
fn keys_are_unique_and_placeholders_survive_transliteration() {
    let mut seen = BTreeSet::new();
    for m in MESSAGES {
        assert!(seen.insert(m.key), "duplicate key {}", m.key);
    }
    assert_eq!(t(Language::UzCyrl, "step1.code_sent"), "Код {phone} рақамига юборилди.");
}

#[test]
fn language_from_query_then_cookie_then_accept_language() {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("ru-RU,ru;q=0.9"));
    assert_eq!(language(None, &headers), (Language::Ru, false));
    headers.insert(header::COOKIE, HeaderValue::from_static("a=b; imzo_lang=uz-Cyrl"));
    assert_eq!(language(None, &headers), (Language::UzCyrl, false));
    assert_eq!(language(Some("number=1&lang=en"), &headers), (Language::En, true));
    assert_eq!(language(Some("lang=fr"), &headers), (Language::UzCyrl, false));
    assert_eq!(language(None, &HeaderMap::new()), (Language::UzLatn, false));
}

#[test]
fn switcher_links_every_language_and_keeps_the_query() {
    let page = html(PortalPage::Find, Language::En, "number=123456789012");
    for lang in LANGUAGES {
        assert!(page.contains(&format!("/find?lang={}&amp;number=123456789012", i18n::code(lang))), "{}", i18n::code(lang));
    }
    assert!(page.contains("aria-current=\"true\">English"));
}

#[test]
fn every_input_has_a_label() {
    let pages = PortalPage::ALL.iter().map(|p| (format!("{p:?}"), html(*p, Language::En, "")));
    for (page, page_html) in pages.chain([("Console".to_owned(), super::console::html(Language::En, ""))]) {
        let fields = page_html.split("<input ").skip(1).chain(page_html.split("<select ").skip(1));
        for piece in fields.chain(page_html.split("<textarea ").skip(1)) {
            let tag = piece.split('>').next().unwrap();
            if tag.contains("type=\"radio\"") {
                continue; // wrapped in its <label class="choice">
            }
            let id = tag.split("id=\"").nth(1).unwrap().split('"').next().unwrap();
            assert!(page_html.contains(&format!("<label for=\"{id}\"")), "{page}: #{id} has no label");
        }
    }
}
