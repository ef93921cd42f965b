//! The registration centres an applicant chooses from, and the choice itself.

use crate::{CentreEnd, CentreInfo, Localized, RaError, Registration};
use imzo_pki::crl::RevocationReason;
use imzo_store::centres;

pub(crate) async fn list(ra: &Registration) -> Result<Vec<CentreInfo>, RaError> {
    let rows = centres::list(ra.store.pool()).await?;
    Ok(rows
        .into_iter()
        .filter(|c| ra.centre_ca(&c.id).is_some())
        .filter_map(|c| {
            let number = c.number?;
            Some(CentreInfo {
                number,
                name: Localized::new(
                    c.name_uz.as_deref().unwrap_or(&c.name),
                    c.name_ru.as_deref().unwrap_or(&c.name),
                    c.name_en.as_deref().unwrap_or(&c.name),
                ),
                ca_certificate: format!("/ca/{}.pem", c.ca_id),
                id: c.id,
                status: c.status,
            })
        })
        .collect())
}

fn unknown_centre(number: i64) -> RaError {
    RaError::invalid(
        "centre",
        "unknown_centre",
        &format!("{number}-son ro'yxatga olish markazi yo'q yoki ariza qabul qilmaydi. Ro'yxat: GET /api/v1/centres."),
        &format!("Регистрационного центра № {number} нет или он не принимает заявления. Список: GET /api/v1/centres."),
        &format!("There is no registration centre {number}, or it takes no applications. The list: GET /api/v1/centres."),
    )
}

/// The workflow acting for the centre the applicant chose (`None`: the default centre).
pub(crate) async fn chosen(ra: &Registration, number: Option<i64>) -> Result<Registration, RaError> {
    let Some(number) = number else {
        // The default centre is a choice too: a revoked one takes no applications.
        if standing(ra, ra.store.pool(), &ra.ca.centre_id).await?.is_some() {
            return Err(not_standing(&ra.ca.centre_id));
        }
        return Ok(ra.clone());
    };
    let entry = centres::by_number(ra.store.pool(), number).await?.ok_or_else(|| unknown_centre(number))?;
    if entry.status != "active" || ra.centre_ca(&entry.id).is_none() {
        return Err(unknown_centre(number));
    }
    ra.at(&entry.id)
}

/// Whether centre `centre_id` may still take part in issuance: its registration stands
/// and the root has not revoked (or held) its CA certificate. `Some` (the earlier of
/// the two ends) when not.
pub(crate) async fn standing(ra: &Registration, pool: &imzo_store::AnyPool, centre_id: &str) -> Result<Option<CentreEnd>, RaError> {
    let mut conn = pool.acquire().await.map_err(imzo_store::StoreError::from)?;
    standing_on(ra, &mut conn, centre_id).await
}

/// [`standing`] read on `conn` (inside a transaction: what that transaction sees).
pub(crate) async fn standing_on(ra: &Registration, conn: &mut imzo_store::AnyConnection, centre_id: &str) -> Result<Option<CentreEnd>, RaError> {
    let mut end = None;
    if let Some(c) = centres::get(&mut *conn, centre_id).await?
        && c.status != "active"
    {
        let reason = c.revocation_reason.as_deref().and_then(|r| RevocationReason::parse(r).ok());
        end = Some(CentreEnd { why: "centre_revoked", at_ms: c.revoked_at_ms, reason });
    }
    if let Some(ca) = ra.centre_ca(centre_id) {
        let serial = imzo_pki::cert::info(&ca.certificate).map_err(|e| RaError::internal(e.to_string()))?.serial_hex;
        if let Some(row) = imzo_store::certificates::by_serial(&mut *conn, &serial).await?
            && row.status != "good"
            && end.as_ref().is_none_or(|e: &CentreEnd| row.revoked_at_ms.unwrap_or(0) < e.at_ms.unwrap_or(0))
        {
            let reason = row.revocation_reason.and_then(RevocationReason::from_code);
            end = Some(CentreEnd { why: "ca_revoked", at_ms: row.revoked_at_ms, reason });
        }
    }
    Ok(end)
}

fn not_standing(centre_id: &str) -> RaError {
    RaError::conflict(
        "centre_revoked",
        &format!("{centre_id} markazining ro'yxatdan o'tkazilishi yoki sertifikati vakolatli organ tomonidan bekor qilingan: u endi sertifikat bermaydi. Arizani boshqa markazga bering."),
        &format!("Регистрация или сертификат центра {centre_id} отозваны уполномоченным органом: он больше не выдаёт сертификаты. Подайте заявление в другой центр."),
        &format!("The registration or the certificate of centre {centre_id} was revoked by the authorised body: it issues no more certificates. Apply at another centre."),
    )
}

/// Refuses decisions, payments and issuance at a centre that no longer stands (see
/// [`standing`]): its CA must not put another certificate into the world, whatever was
/// pending there when the registration ended.
pub(crate) async fn ensure_active(ra: &Registration, tx: &mut imzo_store::Tx<'_>, centre_id: &str) -> Result<(), RaError> {
    match standing_on(ra, tx, centre_id).await? {
        Some(_) => Err(not_standing(centre_id)),
        None => Ok(()),
    }
}
