//! The whole registration workflow on a real database (SQLite and PostgreSQL), with
//! OpenSSL as the applicant's key tool and the real PKI code as the centre's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    Applicant, Db, Env, documents, env, individual, last_code, operator_sign, planted_captcha, state_of, submitted,
};
use imzo_gateways::payme::{Ledger, Refusal};
use imzo_ra::{ErrorKind, Upload, number::is_valid_number};
use imzo_store::Row;

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::Postgres).await
            }
        }
    )*};
}

on_both!(
    full_flow_to_an_issued_certificate,
    phone_codes_are_limited,
    start_rejects_bad_fields,
    deadlines_rejection_and_refund,
    concurrent_payme_duplicates_make_one_payment,
    documents_are_checked_and_shared
);

const PAYME_ID: &str = "5305e3bab097f420a62ced0b";

async fn count(env: &Env, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(env.store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

async fn full_flow_to_an_issued_certificate(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let started = ra.start(individual("+998 90 123-45-67")).await.unwrap();
    assert_eq!(started.phone_masked, "+998 90 *** ** 67");
    let code = last_code(ra, "998901234567").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let e = ra.verify_phone(&started.draft_id, wrong).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Forbidden, "wrong_code"));
    assert!(e.message.en.contains("Tries left: 4"), "{}", e.message.en);
    // Submitting before the phone is verified is an illegal transition.
    let applicant = Applicant::new(env.dir.path(), "alisher");
    let (passport, selfie) = documents();
    let e = ra.submit(&started.draft_id, &applicant.csr_der(), passport.clone(), selfie.clone()).await.unwrap_err();
    assert_eq!(e.code, "wrong_state");
    ra.verify_phone(&started.draft_id, &code).await.unwrap();
    assert_eq!(ra.verify_phone(&started.draft_id, &code).await.unwrap_err().code, "wrong_state");

    // A PEM request from OpenSSL is accepted as well as DER.
    let submitted = ra.submit(&started.draft_id, &applicant.csr_pem(), passport, selfie).await.unwrap();
    assert!(is_valid_number(&submitted.number), "{}", submitted.number);
    assert_eq!(submitted.fee_tiyin, 1_890_000);
    let number = submitted.number.clone();
    let outbox = ra.outbox(0).await.unwrap();
    let accepted = outbox.iter().find(|m| m.text.contains(&number)).expect("accepted SMS");
    assert!(accepted.text.contains("18 900 so'm"), "{}", accepted.text);
    let stored = imzo_store::applications::by_number(env.store.pool(), &number).await.unwrap().unwrap();
    assert_eq!(stored.passport, "AA1234567");
    assert_eq!(stored.phone, "998901234567");
    // The stored request is DER, whatever the upload's encoding.
    assert_eq!(stored.csr_der.as_deref(), Some(applicant.csr_der().as_slice()));
    let hour8 = stored.pay_before_ms.unwrap() - stored.updated_at_ms;
    assert!((8 * 3600 * 1000 - 5_000..=8 * 3600 * 1000).contains(&hour8), "{hour8}");

    // Payme, in the order of its sandbox scenario 2.
    assert_eq!(ra.check_perform(&number, 1_000).await, Err(Refusal::WrongAmount));
    assert_eq!(ra.check_perform("123456789012", 1_890_000).await, Err(Refusal::AccountNotFound));
    ra.check_perform(&number, 1_890_000).await.unwrap();
    let created = ra.create(PAYME_ID, 1_700_000_000_000, 1_890_000, &number).await.unwrap();
    assert_eq!(created.state, 1);
    assert_eq!(ra.create(PAYME_ID, 1_700_000_000_000, 1_890_000, &number).await.unwrap(), created);
    assert_eq!(
        ra.create("6305e3bab097f420a62ced0b", 1_700_000_000_001, 1_890_000, &number).await,
        Err(Refusal::NotAllowed)
    );
    let performed = ra.perform(PAYME_ID).await.unwrap();
    assert_eq!((performed.state, performed.create_time_ms), (2, created.create_time_ms));
    assert!(performed.perform_time_ms > 0);
    assert_eq!(ra.perform(PAYME_ID).await.unwrap(), performed);
    assert_eq!(ra.get(PAYME_ID).await.unwrap(), performed);
    assert_eq!(ra.statement(1_700_000_000_000, 1_700_000_000_000).await.unwrap(), vec![performed.clone()]);
    assert!(ra.statement(0, 1_699_999_999_999).await.unwrap().is_empty());
    assert_eq!(state_of(&env.store, &number).await, "paid");
    assert_eq!(ra.check_perform(&number, 1_890_000).await, Err(Refusal::AccountNotPayable));

    // Lookup by captcha: one guess per captcha.
    let captcha = ra.new_captcha().await.unwrap();
    assert!(captcha.png.starts_with(b"\x89PNG"));
    let e = ra.lookup(&number, &captcha.id, "00000x").await.unwrap_err();
    assert_eq!(e.code, "captcha_wrong");
    assert_eq!(ra.lookup(&number, &captcha.id, "00000x").await.unwrap_err().code, "captcha_expired");
    let planted = planted_captcha(&env.store, "40417").await;
    let seen = ra.lookup(&number, &planted, " 40417 ").await.unwrap();
    assert_eq!((seen.state.as_str(), seen.full_name.as_str()), ("paid", "G\u{02BB}ULOMOV ALISHER RUSTAMOVICH"));

    // The operator approves with a signed decision; the challenge is single-use.
    let queue = ra.review_queue(10).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].documents.len(), 2);
    let (media, bytes) = ra.document(&number, "selfie").await.unwrap();
    assert_eq!(media, "image/png");
    assert!(bytes.starts_with(b"\x89PNG"));
    let ch = ra.operator_challenge().await.unwrap();
    let decision = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number, "decision": "approve"
    });
    let view = ra.operator_decide(&operator_sign(&env, &decision)).await.unwrap();
    assert_eq!(view.state, "approved");
    assert_eq!(ra.operator_decide(&operator_sign(&env, &decision)).await.unwrap_err().code, "challenge_invalid");
    let actor: String = sqlx::query("SELECT actor FROM audit_log WHERE action = 'application.approved'")
        .fetch_one(env.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(actor.starts_with("operator:"), "{actor}");

    // Proof of possession: a stranger's key fails and burns the challenge.
    let ch = ra.new_challenge(&number).await.unwrap();
    let stranger = Applicant::new(env.dir.path(), "stranger");
    let e = ra.confirm(&number, &ch.id, &stranger.prove(&ch.challenge_base64)).await.unwrap_err();
    assert_eq!(e.code, "bad_proof");
    let e = ra.confirm(&number, &ch.id, &applicant.prove(&ch.challenge_base64)).await.unwrap_err();
    assert_eq!(e.code, "challenge_invalid");
    let ch = ra.new_challenge(&number).await.unwrap();
    let seen = ra.view_with_proof(&number, &ch.id, &applicant.prove(&ch.challenge_base64)).await.unwrap();
    assert_eq!(seen.state, "approved");
    assert_eq!(ra.certificate(&number).await.unwrap_err().code, "no_certificate");
    let ch = ra.new_challenge(&number).await.unwrap();
    let issued = ra.confirm(&number, &ch.id, &applicant.prove(&ch.challenge_base64)).await.unwrap();
    assert_eq!(state_of(&env.store, &number).await, "issued");
    assert_eq!(ra.certificate(&number).await.unwrap().certificate_pem, issued.certificate_pem);
    assert!(ra.outbox(0).await.unwrap().iter().any(|m| m.text.contains("sertifikatingiz tayyor")));

    // OpenSSL accepts the chain, and the subject came from the reviewed fields.
    let leaf = env.dir.path().join("leaf.pem");
    let chain = env.dir.path().join("chain.pem");
    std::fs::write(&leaf, &issued.certificate_pem).unwrap();
    std::fs::write(&chain, &issued.chain_pem).unwrap();
    let (ok, text) = common::openssl(&["verify", "-CAfile", chain.to_str().unwrap(), leaf.to_str().unwrap()]);
    assert!(ok, "{text}");
    let (ok, text) = common::openssl(&[
        "x509",
        "-in",
        leaf.to_str().unwrap(),
        "-noout",
        "-subject",
        "-pubkey",
        "-nameopt",
        "RFC2253",
    ]);
    assert!(ok, "{text}");
    // PINFL (1.2.860.3.16.1.2) as a UTF8String "32808810170066", which OpenSSL prints as hex.
    assert!(text.contains("1.2.860.3.16.1.2=#0C0E3332383038383130313730303636"), "{text}");
    assert!(
        text.contains("SN=G\\CA\\BBULOMOV") && text.contains("ST=Toshkent shahri") && text.contains("C=UZ"),
        "{text}"
    );
    assert!(!text.contains("CN=Applicant"), "{text}");
    let (_, key_text) = common::openssl(&[
        "req",
        "-inform",
        "DER",
        "-in",
        env.dir.path().join("alisher/csr.der").to_str().unwrap(),
        "-noout",
        "-pubkey",
    ]);
    assert!(text.contains(key_text.trim()), "certificate key differs from the request's");

    // A refund after issuance is refused; the application stays issued.
    assert_eq!(ra.cancel(PAYME_ID, 5).await, Err(Refusal::CannotCancel));
    assert_eq!(state_of(&env.store, &number).await, "issued");
    let actions: Vec<String> = sqlx::query("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(env.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "application.started",
            "application.phone_verified",
            "application.submitted",
            "payment.created",
            "application.paid",
            "application.approved",
            "certificate.issued"
        ]
    );
}

async fn phone_codes_are_limited(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let started = ra.start(individual("90 555 44 33")).await.unwrap();
    let e = ra.resend_code(&started.draft_id).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::TooMany, "resend_too_soon"));
    let code = last_code(ra, "998905554433").await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    for left in (0..5).rev() {
        let e = ra.verify_phone(&started.draft_id, wrong).await.unwrap_err();
        assert!(e.message.en.contains(&format!("Tries left: {left}")), "{}", e.message.en);
    }
    // After five wrong tries even the right code is refused.
    let e = ra.verify_phone(&started.draft_id, &code).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::TooMany, "too_many_tries"));
    assert_eq!(ra.verify_phone(&started.draft_id, "12345").await.unwrap_err().field.as_deref(), Some("code"));
    assert_eq!(ra.verify_phone("nope", &code).await.unwrap_err().kind, ErrorKind::NotFound);
    // The stored hash is not the code.
    let hash: String =
        sqlx::query("SELECT code_hash FROM otp_codes").fetch_one(env.store.pool()).await.unwrap().try_get(0).unwrap();
    assert!(!hash.contains(&code));
    // Five codes per phone per hour: the sixth start for the number is refused.
    for _ in 0..4 {
        ra.start(individual("+998905554433")).await.unwrap();
    }
    let e = ra.start(individual("998905554433")).await.unwrap_err();
    assert_eq!(e.code, "too_many_codes");
    // Expired codes are refused.
    let started = ra.start(individual("+998 91 000 00 01")).await.unwrap();
    let code = last_code(ra, "998910000001").await;
    sqlx::query("UPDATE otp_codes SET expires_at_ms = 0").execute(env.store.pool()).await.unwrap();
    assert_eq!(ra.verify_phone(&started.draft_id, &code).await.unwrap_err().code, "code_expired");
}

async fn start_rejects_bad_fields(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    type Change = Box<dyn Fn(&mut imzo_ra::StartRequest)>;
    let cases: Vec<(Change, &str, &str)> = vec![
        (Box::new(|r| r.pinfl = "32808810170065".into()), "pinfl", "invalid_pinfl"),
        (Box::new(|r| r.birth_date = "1981-08-29".into()), "birth_date", "birth_date_mismatch"),
        (Box::new(|r| r.surname = "Smith3".into()), "surname", "invalid_name"),
        (Box::new(|r| r.given_name = "   ".into()), "given_name", "required"),
        (Box::new(|r| r.passport = "A1234567".into()), "passport", "invalid_passport"),
        (Box::new(|r| r.phone = "+7 916 123 45 67".into()), "phone", "foreign_phone"),
        (Box::new(|r| r.region = "".into()), "region", "required"),
        (
            Box::new(|r| {
                r.applicant_type = imzo_ra::ApplicantType::LegalEntity;
                r.company_inn = Some("412345678".into());
                r.company_name = Some("Aziya Savdo MChJ".into());
                r.title = Some("Direktor".into());
            }),
            "company_inn",
            "invalid_inn",
        ),
        (
            Box::new(|r| {
                r.applicant_type = imzo_ra::ApplicantType::LegalEntity;
                r.company_inn = Some("301234567".into());
            }),
            "company_name",
            "required",
        ),
    ];
    for (change, field, code) in cases {
        let mut r = individual("+998901112233");
        change(&mut r);
        let e = ra.start(r).await.unwrap_err();
        assert_eq!((e.field.as_deref(), e.code), (Some(field), code), "{e}");
        assert!(!e.message.uz.is_empty() && !e.message.ru.is_empty() && !e.message.en.is_empty());
    }
    assert_eq!(count(&env, "SELECT COUNT(*) FROM applications").await, 0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM sms_outbox").await, 0);
    // A legal entity pays 10 %.
    let mut r = individual("+998901112233");
    r.applicant_type = imzo_ra::ApplicantType::LegalEntity;
    r.company_inn = Some("301234567".into());
    r.company_name = Some("Aziya Savdo MChJ".into());
    r.title = Some("Direktor".into());
    let started = ra.start(r).await.unwrap();
    let code = last_code(ra, "998901112233").await;
    ra.verify_phone(&started.draft_id, &code).await.unwrap();
    let applicant = Applicant::new(env.dir.path(), "company");
    let (passport, selfie) = documents();
    let e = ra.submit(&started.draft_id, b"not a request", passport.clone(), selfie.clone()).await.unwrap_err();
    assert_eq!((e.field.as_deref(), e.code), (Some("csr"), "invalid_csr"));
    let s = ra.submit(&started.draft_id, &applicant.csr_der(), passport, selfie).await.unwrap();
    assert_eq!(s.fee_tiyin, 2_700_000);
}

async fn deadlines_rejection_and_refund(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let (late, fee, _) = submitted(&env, "+998 93 100 00 01", "late").await;
    ra.create("7305e3bab097f420a62ced0b", 1, fee, &late).await.unwrap();
    assert_eq!(ra.run_due_jobs().await.unwrap(), 0);
    sqlx::query("UPDATE applications SET pay_before_ms = 1").execute(env.store.pool()).await.unwrap();
    assert_eq!(ra.check_perform(&late, fee).await, Err(Refusal::AccountNotPayable));
    // Two nodes running the job at once cancel the application once.
    let other_node = ra.clone();
    let (a, b) = tokio::join!(ra.run_due_jobs(), other_node.run_due_jobs());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(state_of(&env.store, &late).await, "cancelled");
    // The created Payme transaction died with it (reason 4, timeout).
    let t = ra.get("7305e3bab097f420a62ced0b").await.unwrap();
    assert_eq!((t.state, t.reason), (-1, Some(4)));
    assert_eq!(ra.perform("7305e3bab097f420a62ced0b").await, Err(Refusal::NotAllowed));
    assert_eq!(count(&env, "SELECT COUNT(*) FROM audit_log WHERE action = 'application.cancelled'").await, 1);

    // Rejection by the operator, with the reason sent by SMS; then a refund cancels it.
    let (number, fee, _) = submitted(&env, "+998 93 100 00 02", "rejected").await;
    ra.create("8305e3bab097f420a62ced0b", 2, fee, &number).await.unwrap();
    ra.perform("8305e3bab097f420a62ced0b").await.unwrap();
    let ch = ra.operator_challenge().await.unwrap();
    // A decision over another challenge's bytes is refused.
    let forged = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": "AAAA", "application": number, "decision": "reject", "reason": "x"
    });
    assert_eq!(ra.operator_decide(&common::operator_sign(&env, &forged)).await.unwrap_err().code, "challenge_invalid");
    let decision = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number,
        "decision": "reject", "reason": "Pasport surati o'qilmaydi"
    });
    let view = ra.operator_decide(&common::operator_sign(&env, &decision)).await.unwrap();
    assert_eq!(
        (view.state.as_str(), view.rejection_reason.as_deref()),
        ("rejected", Some("Pasport surati o'qilmaydi"))
    );
    let sms = ra.outbox(0).await.unwrap();
    assert!(
        sms.iter().any(|m| m.phone == "998931000002" && m.text.contains("rad etildi") && m.text.contains("o'qilmaydi"))
    );
    let cancelled = ra.cancel("8305e3bab097f420a62ced0b", 5).await.unwrap();
    assert_eq!((cancelled.state, cancelled.reason), (-2, Some(5)));
    assert_eq!(ra.cancel("8305e3bab097f420a62ced0b", 5).await.unwrap(), cancelled);
    assert_eq!(state_of(&env.store, &number).await, "cancelled");
    assert_eq!(ra.cancel("0000e3bab097f420a62ced0b", 5).await, Err(Refusal::TransactionNotFound));

    // A certificate not signed by a registered operator decides nothing.
    let (number, fee, _) = submitted(&env, "+998 93 100 00 03", "unsigned").await;
    ra.create("9305e3bab097f420a62ced0b", 3, fee, &number).await.unwrap();
    ra.perform("9305e3bab097f420a62ced0b").await.unwrap();
    sqlx::query("UPDATE operators SET disabled_at_ms = 1").execute(env.store.pool()).await.unwrap();
    let ch = ra.operator_challenge().await.unwrap();
    let decision = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number, "decision": "approve"
    });
    assert_eq!(ra.operator_decide(&common::operator_sign(&env, &decision)).await.unwrap_err().code, "not_operator");
    assert_eq!(state_of(&env.store, &number).await, "paid");

    // Payme's own 12-hour limit: an unperformed transaction that old is cancelled (reason 4).
    let (number, fee, _) = submitted(&env, "+998 93 100 00 04", "slow").await;
    ra.create("c305e3bab097f420a62ced0b", 4, fee, &number).await.unwrap();
    sqlx::query("UPDATE payments SET create_time_ms = 1 WHERE provider_txn_id = 'c305e3bab097f420a62ced0b'")
        .execute(env.store.pool())
        .await
        .unwrap();
    assert_eq!(ra.perform("c305e3bab097f420a62ced0b").await, Err(Refusal::NotAllowed));
    let t = ra.get("c305e3bab097f420a62ced0b").await.unwrap();
    assert_eq!((t.state, t.reason), (-1, Some(4)));
    assert_eq!(state_of(&env.store, &number).await, "awaiting_payment");

    // Drafts left for a day are abandoned; nothing else moves.
    let started = ra.start(individual("+998 93 100 00 05")).await.unwrap();
    sqlx::query("UPDATE applications SET updated_at_ms = 1 WHERE draft_id = $1")
        .bind(&started.draft_id)
        .execute(env.store.pool())
        .await
        .unwrap();
    assert_eq!(ra.run_due_jobs().await.unwrap(), 1);
    let draft = imzo_store::applications::by_draft(env.store.pool(), &started.draft_id).await.unwrap().unwrap();
    assert_eq!(draft.state, "abandoned");
    assert_eq!(ra.verify_phone(&started.draft_id, "123456").await.unwrap_err().code, "wrong_state");
    assert_eq!(ra.run_due_jobs().await.unwrap(), 0);

    // ChangePassword: the stored key wins over the configured one.
    assert_eq!(ra.merchant_key().await.unwrap().as_deref(), Some("configured-key"));
    ra.set_merchant_key("new-key-from-payme-0001").await.unwrap();
    assert_eq!(ra.merchant_key().await.unwrap().as_deref(), Some("new-key-from-payme-0001"));
}

async fn concurrent_payme_duplicates_make_one_payment(db: Db) {
    let Some(env) = env(db).await else { return };
    let (number, fee, _) = submitted(&env, "+998 94 200 00 01", "racer").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let ra = env.ra.clone();
        let number = number.clone();
        // Half repeat one id, half try their own ids for the same application.
        let id =
            if i % 2 == 0 { "a305e3bab097f420a62ced0b".to_string() } else { format!("b305e3bab097f420a62ced0{i}") };
        tasks.push(tokio::spawn(async move { (id.clone(), ra.create(&id, 10, fee, &number).await) }));
    }
    let mut created = Vec::new();
    for t in tasks {
        let (id, result) = t.await.unwrap();
        if let Ok(tx) = result {
            created.push((id, tx));
        }
    }
    assert_eq!(count(&env, "SELECT COUNT(*) FROM payments").await, 1);
    let winner = &created[0].1;
    assert!(created.iter().all(|(_, t)| t == winner), "every success returns the one stored transaction");
    let performs: Vec<_> = {
        let a = env.ra.clone();
        let b = env.ra.clone();
        let id = winner.id.clone();
        let (x, y) = tokio::join!(a.perform(&id), b.perform(&id));
        vec![x.unwrap(), y.unwrap()]
    };
    assert_eq!(performs[0], performs[1]);
    assert_eq!(state_of(&env.store, &number).await, "paid");
    assert_eq!(count(&env, "SELECT COUNT(*) FROM audit_log WHERE action = 'application.paid'").await, 1);
}

async fn documents_are_checked_and_shared(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let started = ra.start(individual("+998 95 300 00 01")).await.unwrap();
    let code = last_code(ra, "998953000001").await;
    ra.verify_phone(&started.draft_id, &code).await.unwrap();
    let applicant = Applicant::new(env.dir.path(), "docs");
    let (passport, selfie) = documents();
    let big = Upload { file_name: Some("big.pdf".into()), bytes: vec![b'%'; 5 * 1024 * 1024 + 1] };
    let e = ra.submit(&started.draft_id, &applicant.csr_der(), big, selfie.clone()).await.unwrap_err();
    assert_eq!((e.kind, e.field.as_deref()), (ErrorKind::TooLarge, Some("passport")));
    // A PNG renamed to .pdf is still a PNG; a text file named .jpg is refused.
    let fake = Upload { file_name: Some("selfie.jpg".into()), bytes: b"hello".to_vec() };
    let e = ra.submit(&started.draft_id, &applicant.csr_der(), passport.clone(), fake).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), ("unsupported_document", Some("selfie")));
    // One file given as both documents is refused, naming the selfie.
    let e = ra.submit(&started.draft_id, &applicant.csr_der(), passport.clone(), passport.clone()).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), ("same_document_twice", Some("selfie")));
    ra.submit(&started.draft_id, &applicant.csr_der(), passport.clone(), selfie.clone()).await.unwrap();
    // The same scans for a second application are stored once.
    submitted(&env, "+998 95 300 00 02", "docs2").await;
    assert_eq!(count(&env, "SELECT COUNT(*) FROM documents").await, 2);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM application_documents").await, 4);
}
