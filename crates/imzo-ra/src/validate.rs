//! Validation of the applicant's fields: each failure names its field and says, in three
//! languages, what is wrong.

use crate::RaError;
use time::{Date, Month};
use unicode_normalization::UnicodeNormalization as _;

/// PINFL weights for d1…d13 (identifiers.md).
const PINFL_WEIGHTS: [u32; 13] = [7, 3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1, 7];

/// The check digit of the first 13 digits of a PINFL.
pub fn pinfl_check_digit(first13: &[u8; 13]) -> u8 {
    let sum: u32 = first13.iter().zip(PINFL_WEIGHTS).map(|(d, w)| u32::from(*d) * w).sum();
    (sum % 10) as u8
}

/// What a valid PINFL says about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinflFacts {
    /// Date of birth.
    pub birth_date: Date,
    /// Odd first digit: male.
    pub male: bool,
}

fn bad_pinfl(en: &str, uz: &str, ru: &str) -> RaError {
    RaError::invalid("pinfl", "invalid_pinfl", uz, ru, en)
}

/// Checks a PINFL: 14 digits, century/sex digit 1–6, a real birth date, the check digit.
pub fn pinfl(input: &str) -> Result<PinflFacts, RaError> {
    let bytes = input.as_bytes();
    if bytes.len() != 14 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(bad_pinfl(
            "The PINFL must be exactly 14 digits.",
            "JShShIR aniq 14 ta raqamdan iborat bo'lishi kerak.",
            "ПИНФЛ должен состоять ровно из 14 цифр.",
        ));
    }
    let d: Vec<u8> = bytes.iter().map(|b| b - b'0').collect();
    let century = match d[0] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => {
            return Err(bad_pinfl(
                "The first digit of the PINFL (century and sex) must be 1 to 6.",
                "JShShIRning birinchi raqami (asr va jins) 1 dan 6 gacha bo'lishi kerak.",
                "Первая цифра ПИНФЛ (век и пол) должна быть от 1 до 6.",
            ));
        }
    };
    let day = d[1] * 10 + d[2];
    let month = d[3] * 10 + d[4];
    let year = century + i32::from(d[5]) * 10 + i32::from(d[6]);
    let birth_date =
        Month::try_from(month).ok().and_then(|m| Date::from_calendar_date(year, m, day).ok()).ok_or_else(|| {
            bad_pinfl(
                "Digits 2–7 of the PINFL must form a real birth date (DDMMYY).",
                "JShShIRning 2–7-raqamlari haqiqiy tug'ilgan sanani (KKOOYY) bildirishi kerak.",
                "Цифры 2–7 ПИНФЛ должны образовывать реальную дату рождения (ДДММГГ).",
            )
        })?;
    let mut first13 = [0u8; 13];
    first13.copy_from_slice(&d[..13]);
    if pinfl_check_digit(&first13) != d[13] {
        return Err(bad_pinfl(
            "The PINFL's check digit is wrong: please check the number.",
            "JShShIRning nazorat raqami noto'g'ri: raqamni tekshiring.",
            "Неверная контрольная цифра ПИНФЛ: проверьте номер.",
        ));
    }
    Ok(PinflFacts { birth_date, male: d[0] % 2 == 1 })
}

/// Checks a birth date `YYYY-MM-DD` and that it is the one the PINFL carries.
pub fn birth_date(input: &str, from_pinfl: Date) -> Result<Date, RaError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(input.trim(), &format).map_err(|_| {
        RaError::invalid(
            "birth_date",
            "invalid_birth_date",
            "Tug'ilgan sana YYYY-OO-KK ko'rinishida bo'lishi kerak.",
            "Дата рождения должна быть в виде ГГГГ-ММ-ДД.",
            "The birth date must be written YYYY-MM-DD.",
        )
    })?;
    if date != from_pinfl {
        return Err(RaError::invalid(
            "birth_date",
            "birth_date_mismatch",
            "Tug'ilgan sana JShShIRdagi sanaga mos kelmaydi.",
            "Дата рождения не совпадает с датой в ПИНФЛ.",
            "The birth date does not match the one in the PINFL.",
        ));
    }
    Ok(date)
}

/// Youngest age at which a person may apply (years, on the day of application).
pub const MIN_AGE_YEARS: i32 = 16;
/// Oldest plausible age of an applicant (years, on the day of application).
pub const MAX_AGE_YEARS: i32 = 120;

/// Whole years from `birth` to `today`.
fn age_on(birth: Date, today: Date) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

/// Checks that a birth date is plausible for an applicant on `today` (the Asia/Tashkent
/// date of application): not in the future, at least 16 and at most 120 years ago. The
/// PINFL carries the same date (digits 2–7), so the message names both.
pub fn birth_date_plausible(birth: Date, today: Date) -> Result<(), RaError> {
    let shown = birth.to_string();
    if birth > today {
        return Err(RaError::invalid(
            "birth_date",
            "birth_date_in_future",
            &format!("Tug'ilgan sana ({shown}) kelajakda bo'lishi mumkin emas. JShShIRning 2–7-raqamlari ham shu sanani bildiradi: ikkalasini tekshiring."),
            &format!("Дата рождения ({shown}) не может быть в будущем. Цифры 2–7 ПИНФЛ содержат ту же дату: проверьте оба поля."),
            &format!("The birth date ({shown}) cannot be in the future. Digits 2–7 of the PINFL carry the same date: please check both."),
        ));
    }
    let age = age_on(birth, today);
    if age < MIN_AGE_YEARS {
        return Err(RaError::invalid(
            "birth_date",
            "too_young",
            &format!("Ariza beruvchi kamida {MIN_AGE_YEARS} yoshda bo'lishi kerak; tug'ilgan sana ({shown}) bo'yicha yoshi {age}. JShShIR ham shu sanani bildiradi."),
            &format!("Заявителю должно быть не меньше {MIN_AGE_YEARS} лет; по дате рождения ({shown}) ему {age}. ПИНФЛ содержит ту же дату."),
            &format!("The applicant must be at least {MIN_AGE_YEARS} years old; the birth date ({shown}) gives {age}. The PINFL carries the same date."),
        ));
    }
    if age > MAX_AGE_YEARS {
        return Err(RaError::invalid(
            "birth_date",
            "implausible_birth_date",
            &format!("Tug'ilgan sana ({shown}) {MAX_AGE_YEARS} yildan ko'proq oldin: sanani va JShShIRni tekshiring."),
            &format!("Дата рождения ({shown}) более {MAX_AGE_YEARS} лет назад: проверьте дату и ПИНФЛ."),
            &format!("The birth date ({shown}) is more than {MAX_AGE_YEARS} years ago: please check the date and the PINFL."),
        ));
    }
    Ok(())
}

/// Apostrophes used in Uzbek writing: ʻ (U+02BB), ʼ (U+02BC), ‘ ’ (U+2018/9) and '.
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{02BB}' | '\u{02BC}' | '\u{2018}' | '\u{2019}' | '`')
}

/// Latin (with the accented letters) or Cyrillic (with Uzbek ў қ ғ ҳ) letters.
fn is_name_letter(c: char) -> bool {
    c.is_alphabetic()
        && (c.is_ascii_alphabetic()
            || ('\u{00C0}'..='\u{024F}').contains(&c) && c != '×' && c != '÷'
            || ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// Checks a personal name: letters, apostrophes, hyphens and spaces, 1–64 characters,
/// starting with a letter. Returns it in Unicode NFC (a name typed on a system that
/// decomposes letters, as «й» = «и» + breve, is the same name), trimmed, inner spaces
/// collapsed.
pub fn person_name(field: &str, input: &str) -> Result<String, RaError> {
    let composed: String = input.nfc().collect();
    let name = composed.split_whitespace().collect::<Vec<_>>().join(" ");
    let count = name.chars().count();
    if count == 0 {
        return Err(RaError::invalid(
            field,
            "required",
            "Bu maydonni to'ldiring.",
            "Заполните это поле.",
            "Please fill in this field.",
        ));
    }
    if count > 64 {
        return Err(RaError::invalid(
            field,
            "too_long",
            "Ko'pi bilan 64 ta belgi bo'lishi mumkin.",
            "Допускается не более 64 символов.",
            "At most 64 characters are allowed.",
        ));
    }
    let starts_with_letter = name.chars().next().is_some_and(is_name_letter);
    if !starts_with_letter || !name.chars().all(|c| is_name_letter(c) || is_apostrophe(c) || c == '-' || c == ' ') {
        return Err(RaError::invalid(
            field,
            "invalid_name",
            "Faqat harflar (lotin yoki kirill), tutuq belgisi, chiziqcha va bo'sh joy ishlatish mumkin.",
            "Допускаются только буквы (латиница или кириллица), апостроф, дефис и пробел.",
            "Only letters (Latin or Cyrillic), apostrophes, hyphens and spaces are allowed.",
        ));
    }
    Ok(name)
}

/// Checks a free-text field (region, district, company name, title): 1–`max` characters,
/// no control characters. Returns it trimmed, in Unicode NFC.
pub fn text(field: &str, input: &str, max: usize) -> Result<String, RaError> {
    let composed: String = input.nfc().collect();
    let value = composed.trim();
    if value.is_empty() {
        return Err(RaError::invalid(
            field,
            "required",
            "Bu maydonni to'ldiring.",
            "Заполните это поле.",
            "Please fill in this field.",
        ));
    }
    if value.chars().count() > max {
        return Err(RaError::invalid(
            field,
            "too_long",
            &format!("Ko'pi bilan {max} ta belgi bo'lishi mumkin."),
            &format!("Допускается не более {max} символов."),
            &format!("At most {max} characters are allowed."),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(RaError::invalid(
            field,
            "invalid_text",
            "Matnda boshqaruv belgilari bo'lmasligi kerak.",
            "Текст не должен содержать управляющих символов.",
            "The text must not contain control characters.",
        ));
    }
    Ok(value.to_string())
}

/// Checks a passport series and number: two Latin letters and seven digits
/// (`AA1234567`, spaces ignored, letters upper-cased).
pub fn passport(input: &str) -> Result<String, RaError> {
    let value: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let b = value.as_bytes();
    if b.len() != 9 || !b[..2].iter().all(u8::is_ascii_uppercase) || !b[2..].iter().all(u8::is_ascii_digit) {
        return Err(RaError::invalid(
            "passport",
            "invalid_passport",
            "Pasport seriyasi va raqami ikki lotin harfi va yetti raqamdan iborat bo'lishi kerak, masalan AA1234567.",
            "Серия и номер паспорта: две латинские буквы и семь цифр, например AA1234567.",
            "The passport series and number must be two Latin letters and seven digits, e.g. AA1234567.",
        ));
    }
    Ok(value)
}

/// Operator codes of Uzbek mobile networks (the two digits after +998): Humans (33),
/// Perfectum (98), Uzmobile (77, 95, 99), Ucell (93, 94, 50), Beeline (90, 91),
/// Mobiuz (88, 97), and the newer ranges 20 and 55. Landline area codes (71 Tashkent,
/// 61–79 regions) and unassigned codes are refused: SMS codes go to mobiles only.
pub const MOBILE_OPERATOR_CODES: [&str; 14] =
    ["20", "33", "50", "55", "77", "88", "90", "91", "93", "94", "95", "97", "98", "99"];

/// Normalises an Uzbek mobile number to `998XXXXXXXXX`, accepting the usual spellings
/// (`+998 90 123-45-67`, `998901234567`, `90 123 45 67`, `(90) 123 45 67`).
pub fn phone(input: &str) -> Result<String, RaError> {
    let trimmed = input.trim();
    let bad = || {
        RaError::invalid(
            "phone",
            "invalid_phone",
            "Telefon raqami +998 XX XXX XX XX ko'rinishida bo'lishi kerak.",
            "Номер телефона должен быть в виде +998 XX XXX XX XX.",
            "The phone number must look like +998 XX XXX XX XX.",
        )
    };
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if !rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.')) {
        return Err(bad());
    }
    let mut digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if !plus && digits.len() > 12 && digits.starts_with("00") {
        digits.drain(..2);
    }
    let foreign = || {
        RaError::invalid(
            "phone",
            "foreign_phone",
            "Faqat O'zbekiston mobil raqamlari (+998) qabul qilinadi.",
            "Принимаются только мобильные номера Узбекистана (+998).",
            "Only Uzbek mobile numbers (+998) are accepted.",
        )
    };
    let national = if digits.len() == 9 && !plus {
        digits
    } else if let Some(national) = digits.strip_prefix("998") {
        national.to_string()
    } else if plus || digits.len() > 9 {
        return Err(foreign());
    } else {
        return Err(bad());
    };
    if national.len() != 9 {
        return Err(bad());
    }
    let operator = &national[..2];
    if !MOBILE_OPERATOR_CODES.contains(&operator) {
        let codes = MOBILE_OPERATOR_CODES.join(", ");
        return Err(RaError::invalid(
            "phone",
            "not_mobile_phone",
            &format!(
                "+998 {operator} mobil operator kodi emas (shahar telefoni yoki band qilinmagan kod). \
                 Faqat mobil raqamlar qabul qilinadi, kodlar: {codes}."
            ),
            &format!(
                "+998 {operator} — не код мобильного оператора (городской номер или неназначенный код). \
                 Принимаются только мобильные номера с кодами: {codes}."
            ),
            &format!(
                "+998 {operator} is not a mobile operator code (a landline or an unassigned code). \
                 Only mobile numbers are accepted, with codes: {codes}."
            ),
        ));
    }
    Ok(format!("998{national}"))
}

/// `998901234567` → `+998 90 *** ** 67`.
pub fn mask_phone(normalised: &str) -> String {
    match (normalised.get(3..5), normalised.get(10..12)) {
        (Some(operator), Some(last)) => format!("+998 {operator} *** ** {last}"),
        _ => "+998 ** *** ** **".to_string(),
    }
}

/// Checks a company INN: nine digits starting with 2 or 3 (the control digit's
/// algorithm is not public, so only the form is checked).
pub fn company_inn(input: &str) -> Result<String, RaError> {
    let value = input.trim();
    let b = value.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) || !matches!(b[0], b'2' | b'3') {
        return Err(RaError::invalid(
            "company_inn",
            "invalid_inn",
            "Tashkilot STIRi 2 yoki 3 bilan boshlanadigan 9 ta raqamdan iborat bo'lishi kerak.",
            "ИНН организации должен состоять из 9 цифр и начинаться с 2 или 3.",
            "A company INN is 9 digits starting with 2 or 3.",
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pinfl_example_from_identifiers_md() {
        let facts = pinfl("32808810170066").unwrap();
        assert_eq!(facts.birth_date, Date::from_calendar_date(1981, Month::August, 28).unwrap());
        assert!(facts.male);
        assert_eq!(pinfl_check_digit(&[3, 2, 8, 0, 8, 8, 1, 0, 1, 7, 0, 0, 6]), 6);
    }

    #[test]
    fn pinfl_rejections() {
        assert_eq!(pinfl("32808810170065").unwrap_err().code, "invalid_pinfl"); // check digit
        assert!(pinfl("3280881017006").is_err()); // 13 digits
        assert!(pinfl("7280881017006x").is_err());
        assert!(pinfl("73008810170066").is_err()); // century digit 7
        assert!(pinfl("33002810170060").is_err()); // 30 Feb
        assert_eq!(pinfl("32808810170065").unwrap_err().field.as_deref(), Some("pinfl"));
    }

    #[test]
    fn birth_date_must_match() {
        let d = pinfl("32808810170066").unwrap().birth_date;
        assert!(birth_date("1981-08-28", d).is_ok());
        assert_eq!(birth_date("1981-08-29", d).unwrap_err().code, "birth_date_mismatch");
        assert_eq!(birth_date("28.08.1981", d).unwrap_err().code, "invalid_birth_date");
    }

    #[test]
    fn phones() {
        for ok in
            ["+998 90 123-45-67", "998901234567", "90 123 45 67", "(90) 123-45-67", "+998901234567", "00998901234567"]
        {
            assert_eq!(phone(ok).unwrap(), "998901234567", "{ok}");
        }
        assert_eq!(phone("+7 916 123 45 67").unwrap_err().code, "foreign_phone");
        assert_eq!(phone("+79161234567").unwrap_err().code, "foreign_phone");
        assert_eq!(phone("12345").unwrap_err().code, "invalid_phone");
        assert_eq!(phone("+998 90 123 45 6").unwrap_err().code, "invalid_phone");
        assert_eq!(phone("90 123 45 6a").unwrap_err().code, "invalid_phone");
        assert_eq!(mask_phone("998901234567"), "+998 90 *** ** 67");
    }

    #[test]
    fn only_mobile_operator_codes() {
        for code in MOBILE_OPERATOR_CODES {
            assert_eq!(phone(&format!("+998 {code} 123 45 67")).unwrap(), format!("998{code}1234567"));
        }
        for landline in ["+998 00 000 00 00", "+998 71 123 45 67", "+998 66 123 45 67", "70 123 45 67", "998101234567"] {
            let e = phone(landline).unwrap_err();
            assert_eq!((e.code, e.field.as_deref()), ("not_mobile_phone", Some("phone")), "{landline}");
            assert!(e.message.en.contains("90, 91"), "{}", e.message.en);
        }
    }

    #[test]
    fn birth_dates_must_be_plausible() {
        let today = Date::from_calendar_date(2026, Month::December, 3).unwrap();
        let d = |y, m: u8, day| Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap();
        assert!(birth_date_plausible(d(1981, 8, 28), today).is_ok());
        assert!(birth_date_plausible(d(2010, 12, 3), today).is_ok()); // 16 today
        assert_eq!(birth_date_plausible(d(2010, 12, 4), today).unwrap_err().code, "too_young");
        assert_eq!(birth_date_plausible(d(2020, 1, 1), today).unwrap_err().code, "too_young");
        assert_eq!(birth_date_plausible(d(2030, 1, 1), today).unwrap_err().code, "birth_date_in_future");
        assert_eq!(birth_date_plausible(d(2026, 12, 4), today).unwrap_err().code, "birth_date_in_future");
        assert!(birth_date_plausible(d(1906, 12, 3), today).is_ok()); // 120 today
        let e = birth_date_plausible(d(1880, 1, 1), today).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), ("implausible_birth_date", Some("birth_date")));
        assert!(e.message.ru.contains("ПИНФЛ") && e.message.uz.contains("JShShIR"));
    }

    #[test]
    fn pinfl_and_birth_date_messages_are_wholly_cyrillic_in_uz_cyrl() {
        let errors = [
            pinfl("30000000000000").unwrap_err(),
            birth_date("28.08.1981", time::macros::date!(1981 - 08 - 28)).unwrap_err(),
            birth_date_plausible(time::macros::date!(2999 - 01 - 01), time::macros::date!(2026 - 01 - 01)).unwrap_err(),
        ];
        for e in errors {
            let cyrl = e.message.uz_cyrl();
            // Only the field's acronyms in other scripts are allowed: none here.
            assert!(!cyrl.chars().any(|c| c.is_ascii_alphabetic()), "{} -> {cyrl}", e.message.uz);
        }
    }

    #[test]
    fn names_and_passports() {
        assert_eq!(person_name("surname", "  G\u{02BB}ulomov ").unwrap(), "G\u{02BB}ulomov");
        assert!(person_name("surname", "Ўғилой-Қизи").is_ok());
        assert!(person_name("surname", "O'Neil  Smith").is_ok());
        assert!(person_name("surname", "").is_err());
        assert!(person_name("surname", "-abc").is_err());
        assert!(person_name("surname", "R2D2").is_err());
        assert!(person_name("surname", "李").is_err());
        assert!(person_name("surname", &"a".repeat(65)).is_err());
        // Decomposed (NFD) Cyrillic and Latin letters are the same names, stored composed.
        let nfd = "\u{0418}\u{0306}\u{0443}\u{0306}\u{043B}\u{0434}\u{043E}\u{0448}\u{0435}\u{0432}";
        assert_eq!(person_name("surname", nfd).unwrap(), "Йўлдошев");
        assert_eq!(person_name("given_name", "Jose\u{0301}").unwrap(), "Jos\u{00E9}");
        assert_eq!(text("district", "Yunusobod \u{0438}\u{0306}", 64).unwrap(), "Yunusobod й");
        // A lone combining mark is still no letter.
        assert_eq!(person_name("surname", "\u{0306}abc").unwrap_err().code, "invalid_name");
        assert_eq!(passport("aa 1234567").unwrap(), "AA1234567");
        assert!(passport("A11234567").is_err());
        assert!(passport("AA123456").is_err());
        assert!(passport("ÄA1234567").is_err());
        assert!(company_inn("301234567").is_ok());
        assert!(company_inn("401234567").is_err());
        assert!(company_inn("30123456").is_err());
    }

    proptest! {
        #[test]
        fn any_valid_pinfl_is_accepted(first in 1u8..=6, y in 0u32..100, m in 1u8..=12, d in 1u8..=28, rest in 0u32..1_000_000) {
            let s = format!("{first}{d:02}{m:02}{y:02}{rest:06}");
            let mut first13 = [0u8; 13];
            for (i, b) in s.bytes().enumerate() { first13[i] = b - b'0'; }
            let full = format!("{s}{}", pinfl_check_digit(&first13));
            let facts = pinfl(&full).unwrap();
            prop_assert_eq!(facts.birth_date.day(), d);
            // Changing any single digit breaks the check digit or the date.
            for i in 0..14 {
                let mut bytes = full.clone().into_bytes();
                bytes[i] = b'0' + (bytes[i] - b'0' + 1) % 10;
                let changed = String::from_utf8(bytes).unwrap();
                if i == 13 || (7..13).contains(&i) {
                    prop_assert!(pinfl(&changed).is_err());
                }
            }
        }

        #[test]
        fn pinfl_never_panics(s in "\\PC{0,20}") {
            let _ = pinfl(&s);
        }

        #[test]
        fn phone_normalisation_is_stable(op in 0usize..MOBILE_OPERATOR_CODES.len(), n in 0u32..10_000_000) {
            let national = format!("{}{n:07}", MOBILE_OPERATOR_CODES[op]);
            let spaced = format!("+998 {} {}-{}-{}", &national[..2], &national[2..5], &national[5..7], &national[7..]);
            let normal = phone(&spaced).unwrap();
            prop_assert_eq!(&normal, &format!("998{national}"));
            prop_assert_eq!(phone(&normal).unwrap(), normal.clone());
            prop_assert_eq!(phone(&national).unwrap(), normal);
        }

        #[test]
        fn other_operator_codes_are_refused(op in 0u32..100, n in 0u32..10_000_000) {
            let code = format!("{op:02}");
            let result = phone(&format!("+998{code}{n:07}"));
            if MOBILE_OPERATOR_CODES.contains(&code.as_str()) {
                prop_assert!(result.is_ok());
            } else {
                prop_assert_eq!(result.unwrap_err().code, "not_mobile_phone");
            }
        }

        #[test]
        fn validators_never_panic(s in "\\PC{0,80}") {
            let _ = phone(&s);
            let _ = passport(&s);
            let _ = company_inn(&s);
            if let Ok(name) = person_name("surname", &s) {
                prop_assert!(name.chars().count() <= 64);
                prop_assert!(!name.starts_with(' '));
            }
        }
    }
}
