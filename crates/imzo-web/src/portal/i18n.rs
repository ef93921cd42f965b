//! The portal's languages and its message table lookups. Uzbek (Cyrillic) is the Latin
//! text transliterated, unless the table gives it (for words the transliteration rules
//! would spell wrongly).

use super::messages::MESSAGES;
use imzo_ra::Language;
use std::collections::BTreeMap;

/// One entry of the message table: key, Uzbek (Latin), Russian, English, and an
/// optional Uzbek (Cyrillic) text that replaces the transliteration.
pub(crate) struct Message {
    pub(crate) key: &'static str,
    pub(crate) uz: &'static str,
    pub(crate) ru: &'static str,
    pub(crate) en: &'static str,
    pub(crate) uz_cyrl: Option<&'static str>,
}

/// The languages the portal is written in, in switcher order.
pub(crate) const LANGUAGES: [Language; 4] = [Language::UzLatn, Language::UzCyrl, Language::Ru, Language::En];

/// The value of `?lang=` and of the `imzo_lang` cookie for `lang`.
pub(crate) fn code(lang: Language) -> &'static str {
    match lang {
        Language::UzLatn => "uz",
        Language::UzCyrl => "uz-Cyrl",
        Language::Ru => "ru",
        Language::En => "en",
    }
}

/// The BCP 47 tag of `lang` (the page's `lang` attribute and the API's `Accept-Language`).
pub(crate) fn tag(lang: Language) -> &'static str {
    match lang {
        Language::UzLatn => "uz-Latn",
        Language::UzCyrl => "uz-Cyrl",
        Language::Ru => "ru",
        Language::En => "en",
    }
}

/// The switcher's label of `lang`, in that language.
pub(crate) fn own_name(lang: Language) -> &'static str {
    match lang {
        Language::UzLatn => "O'zbekcha",
        Language::UzCyrl => "Ўзбекча",
        Language::Ru => "Русский",
        Language::En => "English",
    }
}

/// Parses a `?lang=` or cookie value (`uz`, `uz-Latn`, `uz-Cyrl`, `ru`, `en`, any case).
pub(crate) fn parse(value: &str) -> Option<Language> {
    match value.trim().to_ascii_lowercase().as_str() {
        "uz" | "uz-latn" => Some(Language::UzLatn),
        "uz-cyrl" => Some(Language::UzCyrl),
        "ru" => Some(Language::Ru),
        "en" => Some(Language::En),
        _ => None,
    }
}

/// What a missing key renders as: visible, and what the language tests look for.
pub(crate) fn untranslated(key: &str) -> String {
    format!("[[{key}]]")
}

fn text_of(message: &Message, lang: Language) -> String {
    match lang {
        Language::UzLatn => message.uz.to_owned(),
        Language::UzCyrl => message.uz_cyrl.map_or_else(|| to_cyrillic(message.uz), str::to_owned),
        Language::Ru => message.ru.to_owned(),
        Language::En => message.en.to_owned(),
    }
}

/// Transliterates Uzbek Latin text, keeping `{placeholder}` names as written (the
/// scripts fill them in by name).
fn to_cyrillic(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
        out.push_str(&imzo_ra::translit::uz_latin_to_cyrillic(&rest[..open]));
        out.push_str(&rest[open..=close]);
        rest = &rest[close + 1..];
    }
    out.push_str(&imzo_ra::translit::uz_latin_to_cyrillic(rest));
    out
}

/// The text of `key` in `lang` (plain text, not yet escaped for HTML).
pub(crate) fn t(lang: Language, key: &str) -> String {
    match MESSAGES.iter().find(|m| m.key == key) {
        Some(message) => text_of(message, lang),
        None => untranslated(key),
    }
}

/// Every message in `lang`, for the pages' scripts.
pub(crate) fn dictionary(lang: Language) -> BTreeMap<&'static str, String> {
    MESSAGES.iter().map(|m| (m.key, text_of(m, lang))).collect()
}
