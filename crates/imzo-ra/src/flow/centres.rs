//! The registration centres an applicant chooses from, and the choice itself.

use crate::{CentreInfo, Localized, RaError, Registration};
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
    let Some(number) = number else { return Ok(ra.clone()) };
    let entry = centres::by_number(ra.store.pool(), number).await?.ok_or_else(|| unknown_centre(number))?;
    if entry.status != "active" || ra.centre_ca(&entry.id).is_none() {
        return Err(unknown_centre(number));
    }
    ra.at(&entry.id)
}

/// Refuses decisions and issuance at a centre whose registration the authorised body
/// revoked: its CA must not put another certificate into the world, whatever was
/// pending there when the registration ended.
pub(crate) async fn ensure_active(tx: &mut imzo_store::Tx<'_>, centre_id: &str) -> Result<(), RaError> {
    let entry = centres::get(&mut **tx, centre_id).await?;
    match entry {
        Some(c) if c.status != "active" => Err(RaError::conflict(
            "centre_revoked",
            &format!("{centre_id} markazining ro'yxatdan o'tkazilishi vakolatli organ tomonidan bekor qilingan: u endi sertifikat bermaydi. Arizani boshqa markazga bering."),
            &format!("Регистрация центра {centre_id} отозвана уполномоченным органом: он больше не выдаёт сертификаты. Подайте заявление в другой центр."),
            &format!("The registration of centre {centre_id} was revoked by the authorised body: it issues no more certificates. Apply at another centre."),
        )),
        _ => Ok(()),
    }
}
