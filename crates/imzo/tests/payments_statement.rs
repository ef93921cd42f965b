//! `imzo payments statement` against a real SQLite database: totals by provider and the
//! discrepancies it must flag (a paid application without a payment, a payment for an
//! application that is not paid), exit status 1 when anything does not reconcile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sqlx::Executor as _;

/// Plants applications and payments the way the workflow stores them.
fn plant(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // Let the binary create the schema first, exactly as a deployment has it.
        let store = imzo_store::Store::connect(url).await.unwrap();
        let now = imzo_store::time_ms::now_ms();
        let pool = store.pool();
        pool.execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO cas (id, kind, parent_id, name, cert_der, key_ref, created_at_ms) \
             VALUES ('rc1', 'centre', NULL, 'Centre', x'00', 'none', {now})"
        )))
        .await
        .unwrap();
        pool.execute(sqlx::AssertSqlSafe(format!("INSERT INTO centres (id, name, ca_id, created_at_ms) VALUES ('rc1', 'Centre', 'rc1', {now})")))
            .await
            .unwrap();
        for (id, number, state) in
            [(1, "100000000017", "paid"), (2, "100000000025", "approved"), (3, "100000000033", "cancelled"), (4, "100000000041", "paid")]
        {
            pool.execute(sqlx::AssertSqlSafe(format!(
                "INSERT INTO applications (id, centre_id, draft_id, number, state, applicant_type, pinfl, surname, given_name, \
                 birth_date, region, passport, phone, fee_tiyin, created_at_ms, updated_at_ms) VALUES ({id}, 'rc1', 'd{id}', \
                 '{number}', '{state}', 'individual', '32808810170066', 'A', 'B', '1981-08-28', 'Toshkent shahri', 'AA1234567', \
                 '998901234567', 1890000, {now}, {now})"
            )))
            .await
            .unwrap();
        }
        // Application 4 was paid in the payment sandbox: no provider's money.
        for (app, provider, txn) in [(1, "payme", "5e730e8e0b852a417aa49ceb"), (3, "click", "1003"), (4, "sandbox", "5e730e8e0b852a417aa49cec")] {
            pool.execute(sqlx::AssertSqlSafe(format!(
                "INSERT INTO payments (application_id, provider, provider_txn_id, amount_tiyin, state, provider_time_ms, \
                 create_time_ms, perform_time_ms, cancel_time_ms) VALUES ({app}, '{provider}', '{txn}', 1890000, 2, {now}, {now}, {now}, 0)"
            )))
            .await
            .unwrap();
        }
        store.close().await;
    });
}

#[test]
fn statement_flags_what_does_not_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("imzo.db").display());
    let statement = |extra: &[&str]| {
        let mut cmd = imzo();
        cmd.args(["payments", "statement", "--from", "2000-01-01", "--to", "2099-12-31", "--database", &url]).args(extra);
        run(&mut cmd)
    };
    let out = statement(&[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("No payments.") && text(&out.stdout).contains("Reconciled"), "{}", text(&out.stdout));

    plant(&url);
    let out = statement(&[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("payme: 1 payment(s), paid 18900.00 sum"), "{stdout}");
    assert!(stdout.contains("click: 1 payment(s), paid 18900.00 sum"), "{stdout}");
    assert!(stdout.contains("application 100000000025 is approved but has no performed payment"), "{stdout}");
    assert!(stdout.contains("for application 100000000033, which is cancelled"), "{stdout}");
    assert!(!stdout.contains("100000000017 is"), "the paid application with its payment reconciles: {stdout}");
    // The sandbox's payment is neither a line nor a total, and its application is not
    // flagged as paid without a payment.
    assert!(!stdout.contains("sandbox:") && !stdout.contains("100000000041"), "{stdout}");
    assert!(stdout.contains("(1 sandbox payment(s) left out"), "{stdout}");

    let out = statement(&["--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["discrepancies"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json["totals"]["payme"]["paid_tiyin"], 1_890_000);
    assert!(json["totals"].get("sandbox").is_none(), "{json}");
    assert_eq!(json["sandbox_payments"], 1);

    let mut cmd = imzo();
    cmd.args(["payments", "statement", "--from", "2026-02-30", "--to", "2026-03-01", "--database", &url]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--from"), "{}", text(&out.stderr));
}
