//! What the handlers share: the workflow, the Payme books and what the deployment offers.

use imzo_ra::Registration;

/// Everything the router needs; the binary builds it once at start.
///
/// `L` is the ledger behind the Payme merchant endpoint: the registration workflow's
/// implementation of [`imzo_gateways::payme::Ledger`].
#[derive(Debug, Clone)]
pub struct AppState<L = Registration> {
    /// The registration workflow (applications, codes, review, issuance).
    pub registration: Registration,
    /// The books the Payme merchant endpoint (`POST /pay/payme`) and the sandbox work on.
    pub payme: L,
    /// CA certificates offered at `/ca/{id}.crt` (DER) and `/ca/{id}.pem`: (id, DER).
    pub ca_certificates: Vec<(String, Vec<u8>)>,
    /// Serve the local SMS outbox at `GET /api/v1/dev/outbox` (embedded default only:
    /// it shows one-time codes to anyone who asks).
    pub dev_outbox: bool,
    /// Serve the payment sandbox (`/sandbox/pay`, `POST /api/v1/dev/sandbox/pay`), which
    /// pays any application through our own Payme endpoint (embedded default only).
    pub payme_sandbox: bool,
    /// Payme merchant id; with it, submission answers carry a Payme checkout link.
    pub payme_merchant_id: Option<String>,
    /// Click SHOP API settings (`POST /pay/click/*`); without them Click's calls are refused.
    pub click: Option<imzo_gateways::click::Settings>,
    /// Paynet settings (`POST /pay/paynet`); without them Paynet's calls are refused.
    pub paynet: Option<imzo_gateways::paynet::Settings>,
}
