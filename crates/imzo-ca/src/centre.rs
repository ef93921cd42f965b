//! A registration centre's CA: issues holder certificates the workflow decided on.

use crate::{CaError, serial::new_serial};
use imzo_pki::{
    Certificate, RawSigner,
    cert::{self, IssueParams, Profile, PublicationUrls},
    name::Subject,
};
use imzo_store::{
    Tx,
    certificates::{self, NewCertificate},
    time_ms::to_ms,
};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Validity of holder and operator certificates: 730 days (two years).
pub const HOLDER_VALIDITY_DAYS: i64 = 730;

/// A certificate just issued and recorded.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// Serial, lower-case hex.
    pub serial_hex: String,
    /// The certificate.
    pub certificate: Certificate,
    /// Its DER encoding.
    pub der: Vec<u8>,
}

/// A registration centre's issuing CA.
#[derive(Clone)]
pub struct CentreCa {
    /// Centre id (`rc1`).
    pub centre_id: String,
    /// CA id in the `cas` table.
    pub ca_id: String,
    /// The centre's CA certificate.
    pub certificate: Certificate,
    /// The root (authorised body) certificate above it.
    pub root: Certificate,
    signer: Arc<dyn RawSigner>,
    urls: PublicationUrls,
    policy_oid: Option<String>,
}

impl std::fmt::Debug for CentreCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CentreCa").field("centre_id", &self.centre_id).finish_non_exhaustive()
    }
}

impl CentreCa {
    /// Assembles a centre CA from its parts (see the bootstrap in the binary).
    pub fn new(
        centre_id: String,
        ca_id: String,
        certificate: Certificate,
        root: Certificate,
        signer: Arc<dyn RawSigner>,
        urls: PublicationUrls,
        policy_oid: Option<String>,
    ) -> Self {
        CentreCa { centre_id, ca_id, certificate, root, signer, urls, policy_oid }
    }

    /// Issues a holder certificate for `subject` and `public_key_der` and records it
    /// inside `tx` (so issuance commits together with the application's state change).
    ///
    /// Validity: from one minute ago (tolerating clocks slightly behind ours) for
    /// [`HOLDER_VALIDITY_DAYS`] = 730 days, the two years of DESIGN §2.
    pub async fn issue_holder(
        &self,
        tx: &mut Tx<'_>,
        subject: &Subject,
        public_key_der: &[u8],
        application_id: Option<i64>,
    ) -> Result<IssuedCert, CaError> {
        self.issue_recorded(tx, subject, public_key_der, Profile::Holder, application_id).await
    }

    /// Issues an operator certificate (same two-year validity as a holder's) and
    /// records it inside `tx`.
    pub async fn issue_operator(
        &self,
        tx: &mut Tx<'_>,
        subject: &Subject,
        public_key_der: &[u8],
    ) -> Result<IssuedCert, CaError> {
        self.issue_recorded(tx, subject, public_key_der, Profile::Operator, None).await
    }

    async fn issue_recorded(
        &self,
        tx: &mut Tx<'_>,
        subject: &Subject,
        public_key_der: &[u8],
        profile: Profile,
        application_id: Option<i64>,
    ) -> Result<IssuedCert, CaError> {
        let now = OffsetDateTime::now_utc();
        let params = IssueParams {
            subject: subject.clone(),
            subject_public_key_der: public_key_der.to_vec(),
            serial: new_serial()?,
            not_before: now - Duration::minutes(1),
            not_after: now + Duration::days(HOLDER_VALIDITY_DAYS),
            profile,
            urls: self.urls.clone(),
            policy_oid: self.policy_oid.clone(),
        };
        self.issue_with(tx, &params, application_id).await
    }

    /// Signs a certificate this CA decided on and records it inside `tx`: the one path
    /// by which anything this CA issues (holders, operators, OCSP responders, TSAs)
    /// reaches the certificate table, and so CRLs and OCSP.
    pub async fn issue_with(
        &self,
        tx: &mut Tx<'_>,
        params: &IssueParams,
        application_id: Option<i64>,
    ) -> Result<IssuedCert, CaError> {
        let certificate = cert::issue(Some(&self.certificate), self.signer.as_ref(), params)?;
        let info = cert::info(&certificate)?;
        let der = cert::to_der(&certificate)?;
        certificates::insert(
            tx,
            &NewCertificate {
                serial: &info.serial_hex,
                ca_id: &self.ca_id,
                application_id,
                subject: &info.subject,
                pinfl: params.subject.pinfl.as_deref(),
                inn: params.subject.company_inn.as_deref(),
                not_before_ms: to_ms(info.not_before),
                not_after_ms: to_ms(info.not_after),
                cert_der: &der,
            },
        )
        .await?;
        tracing::info!(serial = %info.serial_hex, ca = %self.ca_id, profile = ?params.profile, "certificate issued");
        Ok(IssuedCert { serial_hex: info.serial_hex, certificate, der })
    }

    /// The URLs this CA publishes in what it issues.
    pub fn urls(&self) -> &PublicationUrls {
        &self.urls
    }

    /// The signer of this CA (for CRLs and OCSP responses).
    pub fn signer(&self) -> Arc<dyn RawSigner> {
        Arc::clone(&self.signer)
    }

    /// The chain above a holder certificate: centre CA, then root.
    pub fn chain(&self) -> Vec<Certificate> {
        vec![self.certificate.clone(), self.root.clone()]
    }
}
