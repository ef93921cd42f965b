//! Uzbek Latin → Uzbek Cyrillic, for the Cyrillic form of the workflow's messages.
//!
//! Words in «guillemets» (field names), acronyms (JSON, PDF, SMS) and tokens that hold
//! digits, `/`, `_`, `-`, `.` or `@` (codes, media types, URLs) are kept as written.

/// Transliterates Uzbek Latin text to Uzbek Cyrillic.
pub fn uz_latin_to_cyrillic(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut quoted = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '«' || c == '»' {
            quoted = c == '«';
            out.push(c);
            i += 1;
            continue;
        }
        if quoted || !is_letter(c) {
            out.push(c);
            i += 1;
            continue;
        }
        // A whole token: letters and the apostrophes that belong to o', g' and the tutuq belgisi.
        let start = i;
        while i < chars.len() && (is_letter(chars[i]) || (is_apostrophe(chars[i]) && i > start)) {
            i += 1;
        }
        // Technical neighbours (media types, URLs, codes) keep the token Latin.
        let before = start.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i).copied();
        let technical =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || "/_-.@:=".contains(c));
        let word: String = chars[start..i].iter().collect();
        let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
        let acronym = letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase());
        // "2–7-raqamlari", "5-son": an Uzbek suffix on a number is a word, not a code.
        let number_suffix = before == Some('-')
            && start >= 2
            && chars[start - 2].is_ascii_digit()
            && letters.iter().all(|c| c.is_lowercase());
        if is_date_pattern(&letters) {
            // KKOOYY, YYYY-OO-KK: kun, oy, yil, written as the reader's alphabet does.
            out.extend(letters.iter().map(|c| match c {
                'K' => 'К',
                'O' => 'О',
                _ => 'Й',
            }));
        } else if !number_suffix
            && (acronym
                || technical(before)
                || (technical(after) && after != Some(':') && after != Some('.'))
                || (after == Some('.') && chars.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric()))
                || KEEP_LATIN.iter().any(|k| k.eq_ignore_ascii_case(&word)))
        {
            out.push_str(&word);
        } else {
            out.push_str(&loanword_to_cyrillic(&chars[start..i]));
        }
    }
    out
}

/// Names of programs, protocols and terms a reader types or searches as written: an
/// Uzbek Cyrillic text keeps them Latin ("Руст" or "ҳттпс" would mislead).
const KEEP_LATIN: [&str; 11] =
    ["Rust", "rustup", "PowerShell", "pinentry", "https", "http", "detached", "Linux", "Windows", "macOS", "brew"];

/// Russian loanwords whose Cyrillic spelling the letter rules would get wrong (a е after
/// a vowel is not э in them): Latin stem, Cyrillic stem.
const LOANWORDS: [(&str, &str); 1] = [("reestr", "реестр")];

fn loanword_to_cyrillic(w: &[char]) -> String {
    let lower: String = w.iter().map(|c| c.to_ascii_lowercase()).collect();
    for (latin, cyrillic) in LOANWORDS {
        if let Some(rest) = lower.strip_prefix(latin) {
            let upper = w.first().is_some_and(|c| c.is_uppercase());
            let mut stem = cyrillic.to_owned();
            if upper {
                stem = stem.chars().enumerate().map(|(i, c)| if i == 0 { c.to_uppercase().collect() } else { c.to_string() }).collect();
            }
            let tail: Vec<char> = w[w.len() - rest.chars().count()..].to_vec();
            return stem + &word_to_cyrillic(&tail);
        }
    }
    word_to_cyrillic(w)
}

/// A date pattern in Uzbek letters (K kun, O oy, Y yil), as in `KKOOYY` or `YYYY-OO-KK`:
/// two or more capitals, only those three, runs of one letter (so `OK` is not one).
fn is_date_pattern(letters: &[char]) -> bool {
    letters.len() >= 2
        && letters.iter().all(|c| matches!(c, 'K' | 'O' | 'Y'))
        && letters.chunk_by(|a, b| a == b).all(|run| run.len() >= 2)
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BB}' | '\u{02BC}' | '`'
    )
}

fn is_vowel(c: char) -> bool {
    matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u')
}

fn cased(cyr: &str, upper: bool) -> String {
    if upper {
        cyr.to_uppercase()
    } else {
        cyr.to_string()
    }
}

fn word_to_cyrillic(w: &[char]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < w.len() {
        let c = w[i];
        let upper = c.is_uppercase();
        let next = w.get(i + 1).map(|n| n.to_ascii_lowercase());
        let lower = c.to_ascii_lowercase();
        let pair = match (lower, next) {
            ('s', Some('h')) => Some("ш"),
            ('c', Some('h')) => Some("ч"),
            ('y', Some('a')) => Some("я"),
            ('y', Some('o')) if !w.get(i + 2).is_some_and(|x| is_apostrophe(*x)) => Some("ё"),
            ('y', Some('u')) => Some("ю"),
            ('y', Some('e')) => Some("е"),
            ('o', Some(a)) if is_apostrophe(a) => Some("ў"),
            ('g', Some(a)) if is_apostrophe(a) => Some("ғ"),
            _ => None,
        };
        if let Some(p) = pair {
            out.push_str(&cased(p, upper));
            i += 2;
            continue;
        }
        let single = match lower {
            'a' => "а",
            'b' => "б",
            'c' => "с",
            'd' => "д",
            // E at the start of a word or after a vowel is э, elsewhere е.
            'e' if i == 0 || w.get(i.wrapping_sub(1)).is_some_and(|p| is_vowel(*p)) => "э",
            'e' => "е",
            'f' => "ф",
            'g' => "г",
            'h' => "ҳ",
            'i' => "и",
            'j' => "ж",
            'k' => "к",
            'l' => "л",
            'm' => "м",
            'n' => "н",
            'o' => "о",
            'p' => "п",
            'q' => "қ",
            'r' => "р",
            's' => "с",
            't' => "т",
            'u' => "у",
            'v' => "в",
            'w' => "в",
            'x' => "х",
            'y' => "й",
            'z' => "з",
            // The tutuq belgisi (a glottal stop) between letters.
            a if is_apostrophe(a) => "ъ",
            _ => "",
        };
        if single.is_empty() {
            out.push(c);
        } else {
            out.push_str(&cased(single, upper));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uz_latin_to_cyrillic as t;
    use proptest::prelude::*;

    #[test]
    fn the_workflow_s_words() {
        assert_eq!(t("Ariza topilmadi."), "Ариза топилмади.");
        assert_eq!(
            t("Rasmdagi kod noto'g'ri kiritildi."),
            "Расмдаги код нотўғри киритилди."
        );
        assert_eq!(t("Ichki xatolik yuz berdi."), "Ички хатолик юз берди.");
        assert_eq!(
            t("O'zbekiston telefon raqamini kiriting"),
            "Ўзбекистон телефон рақамини киритинг"
        );
        assert_eq!(
            t("Sheriklik, choy, yoqdi, yangi, ma'lumot"),
            "Шериклик, чой, ёқди, янги, маълумот"
        );
        assert_eq!(t("Elektron hujjat egasi"), "Электрон ҳужжат эгаси");
        assert_eq!(t("Davlat reestri, Reestrda"), "Давлат реестри, Реестрда");
        assert_eq!(t("Rust dasturlash tilini rustup.rs saytidan"), "Rust дастурлаш тилини rustup.rs сайтидан");
        assert_eq!(t("Imzo alohida (detached), X.509 sertifikat, https orqali"), "Имзо алоҳида (detached), X.509 сертификат, https орқали");
        assert_eq!(t("Tayyor. Keyingisi"), "Тайёр. Кейингиси");
        assert_eq!(
            t("SHAXS"),
            "SHAXS",
            "acronyms and shouted words stay as written"
        );
        assert_eq!(t("«pinfl» maydoni JSON emas"), "«pinfl» майдони JSON эмас");
        assert_eq!(
            t("Content-Type: application/json bo'lishi kerak"),
            "Content-Type: application/json бўлиши керак"
        );
        assert_eq!(
            t("Ariza holati (awaiting_payment) bu amalga ruxsat bermaydi."),
            "Ариза ҳолати (awaiting_payment) бу амалга рухсат бермайди."
        );
    }

    #[test]
    fn number_suffixes_and_date_patterns() {
        assert_eq!(
            t("JShShIRning 2–7-raqamlari haqiqiy tug'ilgan sanani (KKOOYY) bildirishi kerak."),
            "ЖШШИРнинг 2–7-рақамлари ҳақиқий туғилган санани (ККООЙЙ) билдириши керак."
        );
        assert_eq!(t("Tug'ilgan sana YYYY-OO-KK ko'rinishida bo'lishi kerak."), "Туғилган сана ЙЙЙЙ-ОО-КК кўринишида бўлиши керак.");
        // Codes stay as written.
        assert_eq!(t("image/x-png, utf-8, OK, PDF-1.4"), "image/x-png, utf-8, OK, PDF-1.4");
    }

    proptest! {
        #[test]
        fn no_latin_letter_survives_in_plain_uzbek(words in proptest::collection::vec("[a-z]{1,8}", 1..6)) {
            let text = words.join(" ");
            let out = t(&text);
            prop_assert!(!out.chars().any(|c| c.is_ascii_alphabetic()), "{} -> {}", text, out);
        }
    }
}
