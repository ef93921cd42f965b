//! The time-stamping authority (RFC 3161) of a registration centre.
//!
//! Its certificate is issued by the centre CA (critical EKU id-kp-timeStamping) and
//! recorded like every other certificate, so OCSP and CRLs cover it. Every token carries
//! the certificate when the requester asks for it, and every serial number is recorded in
//! the database, whose primary key keeps serials unique across nodes.

use crate::CentreCa;
use crate::revocation_error::StatusError;
use imzo_pki::tsp::{self, FailureInfo, Rejection, TokenParams};
use imzo_store::{
    Store,
    time_ms::to_ms,
    timestamps::{self, NewTimestamp},
};
use std::sync::Arc;
use time::OffsetDateTime;

/// The policy tokens are issued under when the deployment configures none: an arc of the
/// project's own under the national PKI identifiers (1.2.860.3 … 3 = time-stamping).
pub const DEFAULT_POLICY_OID: &str = "1.2.860.3.2.3.1";

/// How tokens are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaSettings {
    /// TSA policy (dotted OID) of every token (`tsa.policy_oid`).
    pub policy_oid: String,
    /// Accuracy stated in tokens, in milliseconds.
    pub accuracy_millis: u32,
}

impl Default for TsaSettings {
    fn default() -> Self {
        TsaSettings {
            policy_oid: DEFAULT_POLICY_OID.to_string(),
            accuracy_millis: 1000,
        }
    }
}

/// Validity of a TSA certificate.
const TSA_VALIDITY: time::Duration = time::Duration::days(365);
/// A certificate is replaced this long before it expires.
const RENEW_BEFORE: time::Duration = time::Duration::days(30);
/// Draws of a serial number before giving up (a collision of 128 random bits is
/// practically impossible; more than one means something else is wrong).
const SERIAL_ATTEMPTS: usize = 4;

/// A TSA certificate and its key.
struct Unit {
    certificate: imzo_pki::Certificate,
    serial_hex: String,
    chain: Vec<imzo_pki::Certificate>,
    key: Arc<dyn imzo_pki::RawSigner>,
    not_after: OffsetDateTime,
}

/// The TSA of one centre.
pub struct Tsa {
    ca: CentreCa,
    settings: TsaSettings,
    /// The key configured for tokens (`tsa.key`, e.g. on a PKCS#11 token); without one
    /// each node makes a key of its own in memory.
    key: Option<Arc<dyn imzo_pki::RawSigner>>,
    unit: tokio::sync::Mutex<Option<Arc<Unit>>>,
}

impl std::fmt::Debug for Tsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsa").field("ca", &self.ca.ca_id).field("settings", &self.settings).finish()
    }
}

impl Tsa {
    /// A TSA of `ca`. Its key is made, and its certificate issued and recorded, on the
    /// first request (the key lives only in this process; tokens carry the certificate).
    pub fn new(ca: CentreCa, settings: TsaSettings) -> Result<Tsa, StatusError> {
        der::asn1::ObjectIdentifier::new(&settings.policy_oid).map_err(|e| {
            StatusError::bad("bad_policy", format!("tsa.policy_oid {:?}: {e}", settings.policy_oid))
        })?;
        Ok(Tsa { ca, settings, key: None, unit: tokio::sync::Mutex::new(None) })
    }

    /// Signs tokens with `key` (certified by the centre CA) instead of a key made in
    /// this process's memory.
    pub fn with_key(mut self, key: Arc<dyn imzo_pki::RawSigner>) -> Tsa {
        self.key = Some(key);
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &TsaSettings {
        &self.settings
    }

    /// The current TSA certificate (issuing one if there is none yet).
    pub async fn certificate(&self, store: &Store) -> Result<imzo_pki::Certificate, StatusError> {
        Ok(self.unit(store).await?.certificate.clone())
    }

    async fn unit(&self, store: &Store) -> Result<Arc<Unit>, StatusError> {
        let mut slot = self.unit.lock().await;
        let needed_until = OffsetDateTime::now_utc() + RENEW_BEFORE;
        if let Some(current) = slot.as_ref().filter(|u| u.not_after > needed_until) {
            return Ok(Arc::clone(current));
        }
        let algorithm = match self.ca.signer().algorithm() {
            imzo_pki::SignatureAlgorithm::OzDst1092 => imzo_keys::KeyAlgorithm::OzDst1092A,
            _ => imzo_keys::KeyAlgorithm::EcdsaP256,
        };
        let key: Arc<dyn imzo_pki::RawSigner> = match &self.key {
            Some(configured) => Arc::clone(configured),
            None => Arc::new(imzo_keys::SoftwareKey::generate_with(algorithm)?),
        };
        let mut tx = store.begin().await?;
        let certificate = issue_tsa_certificate(&mut tx, &self.ca, key.public_key_der()).await?;
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        let info = imzo_pki::cert::info(&certificate)?;
        let chain = vec![certificate.clone(), self.ca.certificate.clone()];
        let unit = Arc::new(Unit { certificate, serial_hex: info.serial_hex, chain, key, not_after: info.not_after });
        *slot = Some(Arc::clone(&unit));
        Ok(unit)
    }

    /// Answers a DER TimeStampReq with a DER TimeStampResp. Never fails: refusals and
    /// internal failures become rejection responses, as clients expect.
    pub async fn respond(&self, store: &Store, request_der: &[u8]) -> Vec<u8> {
        let request = match tsp::parse_request(request_der, &[self.settings.policy_oid.as_str()]) {
            Ok(r) => r,
            Err(rejection) => {
                tracing::debug!(reason = %rejection, "time-stamp request refused");
                return tsp::reject(&rejection);
            }
        };
        match self.grant(store, &request).await {
            Ok(der) => der,
            Err(e) => {
                tracing::warn!(error = %e, "time-stamp request could not be answered");
                tsp::reject(&Rejection { failure: FailureInfo::SystemFailure, text: "the TSA failed; try again".into() })
            }
        }
    }

    /// Grants a checked request: records a fresh serial, then signs the token.
    pub async fn grant(&self, store: &Store, request: &tsp::TimeStampRequest) -> Result<Vec<u8>, StatusError> {
        let unit = self.unit(store).await?;
        let gen_time = OffsetDateTime::now_utc();
        let hash_alg = request.hash.oid().to_string();
        for _ in 0..SERIAL_ATTEMPTS {
            let serial = crate::serial::new_serial()?;
            let serial_hex = hex::encode(&serial);
            let recorded = timestamps::insert(
                store.pool(),
                &NewTimestamp {
                    serial: &serial_hex,
                    tsa_serial: &unit.serial_hex,
                    policy: &self.settings.policy_oid,
                    hash_alg: &hash_alg,
                    imprint: &request.hashed_message,
                    gen_time_ms: to_ms(gen_time),
                },
            )
            .await?;
            if !recorded {
                continue;
            }
            let params = TokenParams {
                policy: &self.settings.policy_oid,
                serial: &serial,
                gen_time,
                accuracy_millis: self.settings.accuracy_millis,
                certificate: &unit.certificate,
                signer: unit.key.as_ref(),
                chain: &unit.chain,
            };
            return Ok(tsp::grant(request, &params)?);
        }
        Err(StatusError::Ca(crate::CaError::Setup("no unused time-stamp serial number found".into())))
    }
}

/// Issues and records a TSA certificate of `ca` for `public_key_der`.
async fn issue_tsa_certificate(
    tx: &mut imzo_store::Tx<'_>,
    ca: &CentreCa,
    public_key_der: &[u8],
) -> Result<imzo_pki::Certificate, StatusError> {
    use imzo_pki::cert::{IssueParams, Profile};
    let ca_subject = imzo_pki::name::Subject::from_name(ca.certificate.tbs_certificate().subject())?;
    let subject = imzo_pki::name::Subject {
        common_name: format!("{} Time-Stamping Authority", ca_subject.common_name),
        organization: ca_subject.organization.clone(),
        country: ca_subject.country.clone(),
        ..Default::default()
    };
    let now = OffsetDateTime::now_utc();
    let ca_not_after = imzo_pki::cert::info(&ca.certificate)?.not_after;
    let params = IssueParams {
        subject,
        subject_public_key_der: public_key_der.to_vec(),
        serial: crate::serial::new_serial()?,
        not_before: now - time::Duration::minutes(1),
        not_after: (now + TSA_VALIDITY).min(ca_not_after),
        profile: Profile::TimeStamping,
        urls: ca.urls().clone(),
        policy_oid: None,
    };
    Ok(ca.issue_with(tx, &params, None).await?.certificate)
}
