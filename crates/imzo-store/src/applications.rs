//! Applications: drafts, states and guarded transitions.

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sqlx::{Executor, Row, any::AnyRow};

/// Columns read by [`ApplicationRow::from_row`], in one place so every query agrees.
const COLUMNS: &str = "id, centre_id, draft_id, number, state, applicant_type, pinfl, surname, given_name, \
     patronymic, birth_date, region, district, passport, phone, company_inn, company_name, title, \
     csr_der, public_key_der, fee_tiyin, bcv_tiyin, pay_before_ms, rejection_reason, certificate_serial, \
     created_at_ms, updated_at_ms";

/// The fields of a new draft, already validated by the workflow.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    /// Centre the application belongs to.
    pub centre_id: &'a str,
    /// Random draft handle.
    pub draft_id: &'a str,
    /// First state (`started`).
    pub state: &'a str,
    /// `individual` or `legal_entity`.
    pub applicant_type: &'a str,
    /// PINFL.
    pub pinfl: &'a str,
    /// Surname.
    pub surname: &'a str,
    /// Given name.
    pub given_name: &'a str,
    /// Patronymic.
    pub patronymic: Option<&'a str>,
    /// Birth date, YYYY-MM-DD.
    pub birth_date: &'a str,
    /// Region.
    pub region: &'a str,
    /// District.
    pub district: Option<&'a str>,
    /// Passport series and number.
    pub passport: &'a str,
    /// Phone, 998XXXXXXXXX.
    pub phone: &'a str,
    /// Company INN (legal entity).
    pub company_inn: Option<&'a str>,
    /// Company name (legal entity).
    pub company_name: Option<&'a str>,
    /// Title of the acting person (legal entity).
    pub title: Option<&'a str>,
}

/// One row of `applications`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    /// Row id.
    pub id: i64,
    /// Centre.
    pub centre_id: String,
    /// Draft handle.
    pub draft_id: String,
    /// Application number, once submitted.
    pub number: Option<String>,
    /// State name.
    pub state: String,
    /// `individual` or `legal_entity`.
    pub applicant_type: String,
    /// PINFL.
    pub pinfl: String,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// Patronymic.
    pub patronymic: Option<String>,
    /// Birth date, YYYY-MM-DD.
    pub birth_date: String,
    /// Region.
    pub region: String,
    /// District.
    pub district: Option<String>,
    /// Passport.
    pub passport: String,
    /// Phone, 998XXXXXXXXX.
    pub phone: String,
    /// Company INN.
    pub company_inn: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// The PKCS#10 request, DER.
    pub csr_der: Option<Vec<u8>>,
    /// The requested key, DER SubjectPublicKeyInfo.
    pub public_key_der: Option<Vec<u8>>,
    /// Fee in tiyin.
    pub fee_tiyin: Option<i64>,
    /// BCV the fee was computed from, tiyin.
    pub bcv_tiyin: Option<i64>,
    /// Payment deadline, UTC ms.
    pub pay_before_ms: Option<i64>,
    /// Rejection reason.
    pub rejection_reason: Option<String>,
    /// Serial of the issued certificate.
    pub certificate_serial: Option<String>,
    /// Created, UTC ms.
    pub created_at_ms: i64,
    /// Last changed, UTC ms.
    pub updated_at_ms: i64,
}

impl ApplicationRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(ApplicationRow {
            id: row.try_get("id")?,
            centre_id: row.try_get("centre_id")?,
            draft_id: row.try_get("draft_id")?,
            number: row.try_get("number")?,
            state: row.try_get("state")?,
            applicant_type: row.try_get("applicant_type")?,
            pinfl: row.try_get("pinfl")?,
            surname: row.try_get("surname")?,
            given_name: row.try_get("given_name")?,
            patronymic: row.try_get("patronymic")?,
            birth_date: row.try_get("birth_date")?,
            region: row.try_get("region")?,
            district: row.try_get("district")?,
            passport: row.try_get("passport")?,
            phone: row.try_get("phone")?,
            company_inn: row.try_get("company_inn")?,
            company_name: row.try_get("company_name")?,
            title: row.try_get("title")?,
            csr_der: row.try_get("csr_der")?,
            public_key_der: row.try_get("public_key_der")?,
            fee_tiyin: row.try_get("fee_tiyin")?,
            bcv_tiyin: row.try_get("bcv_tiyin")?,
            pay_before_ms: row.try_get("pay_before_ms")?,
            rejection_reason: row.try_get("rejection_reason")?,
            certificate_serial: row.try_get("certificate_serial")?,
            created_at_ms: row.try_get("created_at_ms")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
        })
    }
}

/// Stores a new draft and returns its id.
pub async fn insert_draft(tx: &mut Tx<'_>, d: &NewDraft<'_>) -> Result<i64, StoreError> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO applications (centre_id, draft_id, state, applicant_type, pinfl, surname, given_name, \
         patronymic, birth_date, region, district, passport, phone, company_inn, company_name, title, \
         created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
    )
    .bind(d.centre_id)
    .bind(d.draft_id)
    .bind(d.state)
    .bind(d.applicant_type)
    .bind(d.pinfl)
    .bind(d.surname)
    .bind(d.given_name)
    .bind(d.patronymic)
    .bind(d.birth_date)
    .bind(d.region)
    .bind(d.district)
    .bind(d.passport)
    .bind(d.phone)
    .bind(d.company_inn)
    .bind(d.company_name)
    .bind(d.title)
    .bind(now)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

async fn fetch_by<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    column: &str,
    value: &str,
) -> Result<Option<ApplicationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE {column} = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(ex).await?;
    Ok(row.as_ref().map(ApplicationRow::from_row).transpose()?)
}

/// The application with draft handle `draft_id`.
pub async fn by_draft<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    draft_id: &str,
) -> Result<Option<ApplicationRow>, StoreError> {
    fetch_by(ex, "draft_id", draft_id).await
}

/// The application numbered `number`.
pub async fn by_number<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    number: &str,
) -> Result<Option<ApplicationRow>, StoreError> {
    fetch_by(ex, "number", number).await
}

/// The application with row id `id`.
pub async fn by_id<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64) -> Result<Option<ApplicationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(ex).await?;
    Ok(row.as_ref().map(ApplicationRow::from_row).transpose()?)
}

/// Is `number` taken already?
pub async fn number_taken(tx: &mut Tx<'_>, number: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM applications WHERE number = $1")
        .bind(number)
        .fetch_one(&mut **tx)
        .await?;
    let n: i64 = row.try_get("n")?;
    Ok(n > 0)
}

fn expect_one(result: sqlx::any::AnyQueryResult, id: i64, from: &str, to: &str) -> Result<(), StoreError> {
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!("application {id} is not in state {from}, cannot move it to {to}")))
    }
}

/// Moves application `id` from state `from` to `to`; a conflict if it is not in `from`.
pub async fn transition(tx: &mut Tx<'_>, id: i64, from: &str, to: &str) -> Result<(), StoreError> {
    let result = sqlx::query("UPDATE applications SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4")
        .bind(to)
        .bind(now_ms())
        .bind(id)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    expect_one(result, id, from, to)
}

/// What a submission stores with the move `phone_verified → awaiting_payment`.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// Application number.
    pub number: &'a str,
    /// The PKCS#10 request, DER.
    pub csr_der: &'a [u8],
    /// The requested key.
    pub public_key_der: &'a [u8],
    /// Fee, tiyin.
    pub fee_tiyin: i64,
    /// BCV in force, tiyin.
    pub bcv_tiyin: i64,
    /// Payment deadline, UTC ms.
    pub pay_before_ms: i64,
}

/// Records a submission, moving application `id` from `from` to `to`.
pub async fn submit(tx: &mut Tx<'_>, id: i64, from: &str, to: &str, s: &Submission<'_>) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE applications SET state = $1, number = $2, csr_der = $3, public_key_der = $4, fee_tiyin = $5, \
         bcv_tiyin = $6, pay_before_ms = $7, updated_at_ms = $8 WHERE id = $9 AND state = $10",
    )
    .bind(to)
    .bind(s.number)
    .bind(s.csr_der.to_vec())
    .bind(s.public_key_der.to_vec())
    .bind(s.fee_tiyin)
    .bind(s.bcv_tiyin)
    .bind(s.pay_before_ms)
    .bind(now_ms())
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    expect_one(result, id, from, to)
}

/// States an application does not leave: its key is free for another application.
pub const FINISHED_STATES: [&str; 4] = ["cancelled", "rejected", "expired", "abandoned"];

/// The number of another application (not `except_id`) that holds `public_key_der` and
/// is not finished ([`FINISHED_STATES`]), if any: one key, one application at a time.
pub async fn unfinished_with_key<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    public_key_der: &[u8],
    except_id: i64,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT number FROM applications WHERE public_key_der = $1 AND id <> $2 \
         AND state NOT IN ($3, $4, $5, $6) ORDER BY id LIMIT 1",
    )
    .bind(public_key_der.to_vec())
    .bind(except_id)
    .bind(FINISHED_STATES[0])
    .bind(FINISHED_STATES[1])
    .bind(FINISHED_STATES[2])
    .bind(FINISHED_STATES[3])
    .fetch_optional(ex)
    .await?;
    match row {
        Some(r) => Ok(Some(r.try_get::<Option<String>, _>("number")?.unwrap_or_default())),
        None => Ok(None),
    }
}

/// Rejects application `id` (from `from` to `to`) with `reason`.
pub async fn reject(tx: &mut Tx<'_>, id: i64, from: &str, to: &str, reason: &str) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE applications SET state = $1, rejection_reason = $2, updated_at_ms = $3 WHERE id = $4 AND state = $5",
    )
    .bind(to)
    .bind(reason)
    .bind(now_ms())
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    expect_one(result, id, from, to)
}

/// Marks application `id` issued (from `from` to `to`) with the certificate's serial.
pub async fn issue(tx: &mut Tx<'_>, id: i64, from: &str, to: &str, serial_hex: &str) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE applications SET state = $1, certificate_serial = $2, updated_at_ms = $3 WHERE id = $4 AND state = $5",
    )
    .bind(to)
    .bind(serial_hex)
    .bind(now_ms())
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    expect_one(result, id, from, to)
}

/// Ids of applications in `state` whose payment deadline is before `now_ms`, oldest first.
pub async fn past_deadline(store: &crate::Store, state: &str, now_ms: i64, limit: i64) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM applications WHERE state = $1 AND pay_before_ms < $2 ORDER BY pay_before_ms LIMIT $3",
    )
    .bind(state)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(|r| r.try_get("id").map_err(StoreError::from)).collect()
}

/// Ids of applications in `state` last changed before `before_ms`, oldest first.
pub async fn idle_since(store: &crate::Store, state: &str, before_ms: i64, limit: i64) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM applications WHERE state = $1 AND updated_at_ms < $2 ORDER BY updated_at_ms LIMIT $3",
    )
    .bind(state)
    .bind(before_ms)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(|r| r.try_get("id").map_err(StoreError::from)).collect()
}

/// Applications in `state`, oldest first (the operator's review queue).
pub async fn in_state(store: &crate::Store, state: &str, limit: i64) -> Result<Vec<ApplicationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE state = $1 ORDER BY updated_at_ms, id LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state).bind(limit).fetch_all(store.pool()).await?;
    Ok(rows.iter().map(ApplicationRow::from_row).collect::<Result<_, _>>()?)
}

/// Applications of centre `centre_id` in `state`, oldest first (one centre's review
/// queue: filtered before the limit, so other centres' backlog cannot hide it).
pub async fn in_state_of_centre(
    store: &crate::Store,
    state: &str,
    centre_id: &str,
    limit: i64,
) -> Result<Vec<ApplicationRow>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM applications WHERE state = $1 AND centre_id = $2 ORDER BY updated_at_ms, id LIMIT $3");
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state).bind(centre_id).bind(limit).fetch_all(store.pool()).await?;
    Ok(rows.iter().map(ApplicationRow::from_row).collect::<Result<_, _>>()?)
}

/// The numbered applications of centre `centre_id` for PINFL `pinfl`, newest first (at
/// most `limit`): an operator's search.
pub async fn of_pinfl<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    centre_id: &str,
    pinfl: &str,
    limit: i64,
) -> Result<Vec<ApplicationRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM applications WHERE centre_id = $1 AND pinfl = $2 AND number IS NOT NULL \
         ORDER BY created_at_ms DESC, id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(centre_id).bind(pinfl).bind(limit).fetch_all(ex).await?;
    Ok(rows.iter().map(ApplicationRow::from_row).collect::<Result<_, _>>()?)
}

/// Records the listed reason code of a rejection of application `id`.
pub async fn set_rejection_code(tx: &mut Tx<'_>, id: i64, code: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE applications SET rejection_code = $1 WHERE id = $2").bind(code).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// The listed reason code of application `id`'s rejection, if any.
pub async fn rejection_code<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT rejection_code FROM applications WHERE id = $1").bind(id).fetch_optional(ex).await?;
    Ok(match row {
        Some(r) => r.try_get("rejection_code")?,
        None => None,
    })
}

/// Marks application `id` as the renewal of certificate `serial_hex`.
pub async fn mark_renewal(tx: &mut Tx<'_>, id: i64, serial_hex: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE applications SET renewal_of = $1 WHERE id = $2").bind(serial_hex).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Ids of renewals in `state`, oldest first.
pub async fn renewals_in_state(store: &crate::Store, state: &str, limit: i64) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query("SELECT id FROM applications WHERE state = $1 AND renewal_of IS NOT NULL ORDER BY id LIMIT $2")
        .bind(state)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?)
}
