//! Payme's error objects: code, message in Russian, Uzbek and English, and `data`.

use super::Refusal;
use serde_json::{Value, json};

/// One JSON-RPC error as Payme expects it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    ru: String,
    uz: String,
    en: String,
    data: Value,
}

impl RpcError {
    fn new(code: i64, ru: &str, uz: &str, en: &str, data: Value) -> Self {
        RpcError { code, ru: ru.to_owned(), uz: uz.to_owned(), en: en.to_owned(), data }
    }

    /// The `error` object of a reply.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "code": self.code,
            "message": {"ru": self.ru, "uz": self.uz, "en": self.en},
            "data": self.data,
        })
    }

    /// −32300: the request was not a POST (Payme's protocol answers every method this way).
    pub(crate) fn not_post(method: &str) -> Self {
        RpcError::new(
            -32300,
            &format!("Метод запроса должен быть POST, а не {method}"),
            &format!("So'rov usuli POST bo'lishi kerak, {method} emas"),
            &format!("The request method must be POST, not {method}"),
            Value::String(method.to_owned()),
        )
    }

    /// −32700: the body is not JSON.
    pub(crate) fn parse_error() -> Self {
        RpcError::new(
            -32700,
            "Ошибка разбора JSON",
            "JSON tahlil qilishda xato",
            "Parse error: the body is not valid JSON",
            Value::Null,
        )
    }

    /// −32600: a required RPC field is missing or of the wrong type.
    pub(crate) fn invalid_field(field: &str) -> Self {
        RpcError::new(
            -32600,
            &format!("Неверный запрос: поле «{field}» отсутствует или неверно"),
            &format!("Noto'g'ri so'rov: «{field}» maydoni yo'q yoki noto'g'ri"),
            &format!("Invalid request: field '{field}' is missing or malformed"),
            Value::String(field.to_owned()),
        )
    }

    /// −32600: ChangePassword with a key too short or with characters a key cannot have.
    pub(crate) fn weak_key() -> Self {
        let n = super::MIN_MERCHANT_KEY_LEN;
        RpcError::new(
            -32600,
            &format!("Новый ключ не принят: нужно не меньше {n} символов, только печатные символы ASCII, без пробелов"),
            &format!("Yangi kalit qabul qilinmadi: kamida {n} ta belgi, faqat bosma ASCII belgilar, bo'sh joysiz bo'lishi kerak"),
            &format!("The new key is refused: it must be at least {n} characters of printable ASCII, without spaces"),
            Value::String("password".to_owned()),
        )
    }

    /// −31008: CreateTransaction whose `time` is ahead of our clock by more than the skew allowed.
    pub(crate) fn time_in_future() -> Self {
        let minutes = super::handler::MAX_FUTURE_SKEW_MS / 60_000;
        RpcError::new(
            -31008,
            &format!("Время транзакции («time») более чем на {minutes} мин впереди времени сервера"),
            &format!("Tranzaksiya vaqti («time») server vaqtidan {minutes} daqiqadan ko'proq oldinda"),
            &format!("The transaction's time ('time') is more than {minutes} minutes ahead of the server's clock"),
            Value::String("time".to_owned()),
        )
    }

    /// −32601: no such method.
    pub(crate) fn method_not_found(method: &str) -> Self {
        RpcError::new(
            -32601,
            "Метод не найден",
            "Metod topilmadi",
            "Method not found",
            Value::String(method.to_owned()),
        )
    }

    /// −32504: wrong or missing credentials.
    pub(crate) fn unauthorized() -> Self {
        RpcError::new(
            -32504,
            "Недостаточно привилегий для выполнения метода",
            "Metodni bajarish uchun huquq yetarli emas",
            "Insufficient privileges: wrong or missing authorization",
            Value::Null,
        )
    }

    /// −32400: our side failed; the details stay in our log.
    pub(crate) fn system() -> Self {
        RpcError::new(-32400, "Системная ошибка", "Tizim xatosi", "System error", Value::Null)
    }

    /// −31001: the amount is not the fee.
    pub(crate) fn wrong_amount() -> Self {
        RpcError::new(
            -31001,
            "Неверная сумма",
            "Noto'g'ri summa",
            "Wrong amount",
            Value::String("amount".to_owned()),
        )
    }

    /// −31003: no such transaction.
    pub(crate) fn transaction_not_found() -> Self {
        RpcError::new(
            -31003,
            "Транзакция не найдена",
            "Tranzaksiya topilmadi",
            "Transaction not found",
            Value::String("id".to_owned()),
        )
    }

    /// −31007: the certificate was issued, the payment cannot be cancelled.
    pub(crate) fn cannot_cancel() -> Self {
        RpcError::new(
            -31007,
            "Невозможно отменить транзакцию: услуга оказана",
            "Tranzaksiyani bekor qilib bo'lmaydi: xizmat ko'rsatilgan",
            "Cannot cancel: the service (certificate) has been delivered",
            Value::Null,
        )
    }

    /// −31008: not allowed in the current state.
    pub(crate) fn not_allowed() -> Self {
        RpcError::new(
            -31008,
            "Невозможно выполнить операцию",
            "Amalni bajarib bo'lmaydi",
            "Operation not allowed in the current state",
            Value::Null,
        )
    }

    /// −31008 for a transaction older than Payme's 12-hour window.
    pub(crate) fn timed_out() -> Self {
        RpcError::new(
            -31008,
            "Невозможно выполнить операцию: истёк срок транзакции (12 часов)",
            "Amalni bajarib bo'lmaydi: tranzaksiya muddati (12 soat) o'tgan",
            "Operation not allowed: the transaction is older than 12 hours",
            Value::Null,
        )
    }

    /// −31050: no application with this number (or a malformed one).
    pub(crate) fn account_not_found() -> Self {
        RpcError::new(
            -31050,
            "Заявка с таким номером не найдена",
            "Bunday raqamli ariza topilmadi",
            "No application with this number",
            Value::String(super::ACCOUNT_FIELD.to_owned()),
        )
    }

    /// −31051: the application is not awaiting payment.
    pub(crate) fn account_not_payable() -> Self {
        RpcError::new(
            -31051,
            "Заявка не ожидает оплаты (оплачена, отменена или срок истёк)",
            "Ariza to'lovni kutmayapti (to'langan, bekor qilingan yoki muddati o'tgan)",
            "The application is not awaiting payment (paid, cancelled or expired)",
            Value::String(super::ACCOUNT_FIELD.to_owned()),
        )
    }
}

impl From<Refusal> for RpcError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::WrongAmount => RpcError::wrong_amount(),
            Refusal::AccountNotFound => RpcError::account_not_found(),
            Refusal::AccountNotPayable => RpcError::account_not_payable(),
            Refusal::NotAllowed => RpcError::not_allowed(),
            Refusal::TransactionNotFound => RpcError::transaction_not_found(),
            Refusal::CannotCancel => RpcError::cannot_cancel(),
            Refusal::System(detail) => {
                tracing::error!(%detail, "Payme ledger failed");
                RpcError::system()
            }
        }
    }
}
