//! The Payme endpoint and the sandbox over the real ledger, after a real submission.

use super::harness::{PAYME_KEY, body_bytes, body_json, error_of, harness, openssl};
use super::uploads::{multipart, submit_request};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use imzo_gateways::payme::basic_auth_header;
use serde_json::{Value, json};

async fn payme(h: &super::harness::Harness, auth: Option<&str>, body: &str) -> Value {
    let mut request = Request::post("/pay/payme").header("content-type", "application/json");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = h.send(request.body(Body::from(body.to_owned())).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK, "Payme always gets 200");
    body_json(response).await
}

fn assert_payme_error(reply: &Value, code: i64) {
    assert_eq!(reply["error"]["code"], code, "{reply}");
    for language in ["ru", "uz", "en"] {
        assert!(reply["error"]["message"][language].is_string(), "{reply}");
    }
    assert!(reply["error"].get("data").is_some(), "{reply}");
}

#[tokio::test]
async fn payme_auth_failures_are_200_with_32504() {
    let h = harness(false, false).await;
    let call = json!({"id": 17, "method": "CheckTransaction", "params": {"id": "5305e3bab097f420a62ced0b"}}).to_string();
    for auth in [None, Some(basic_auth_header("wrong")), Some(format!("Bearer {PAYME_KEY}"))] {
        let reply = payme(&h, auth.as_deref(), &call).await;
        assert_payme_error(&reply, -32504);
        assert_eq!(reply["id"], 17);
    }
    let reply = payme(&h, Some(&basic_auth_header(PAYME_KEY)), &call).await;
    assert_payme_error(&reply, -31003);
    let reply = payme(&h, Some(&basic_auth_header(PAYME_KEY)), "{oops").await;
    assert_payme_error(&reply, -32700);
}

#[tokio::test]
async fn payme_other_methods_are_200_with_32300() {
    let h = harness(false, false).await;
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::builder().method(method).uri("/pay/payme").body(Body::empty()).unwrap();
        let response = h.send(request).await;
        assert_eq!(response.status(), StatusCode::OK, "{method}: Payme always gets 200");
        let reply = body_json(response).await;
        assert_payme_error(&reply, -32300);
        assert_eq!(reply["id"], Value::Null, "{reply}");
    }
}

/// A minimal valid PDF with a correct cross-reference table.
fn minimal_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    pdf
}

/// A small PNG that is still a usable document image (200 × 200 at least).
fn small_png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(240, 200, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).unwrap();
    png.into_inner()
}

/// Runs an application through start, phone code and submission over HTTP; returns the
/// submission answer.
pub(crate) async fn submit_over_http(h: &super::harness::Harness, phone: &str, key_name: &str) -> Value {
    let start = json!({
        "applicant_type": "individual", "pinfl": "32808810170066", "surname": "Karimov", "given_name": "Aziz",
        "birth_date": "1981-08-28", "region": "Toshkent shahri", "passport": "AA1234567", "phone": phone,
    });
    let (status, started) = h.json("POST", "/api/v1/applications", &start.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let draft = started["draft_id"].as_str().unwrap().to_owned();
    let response = h.send(Request::get("/api/v1/dev/outbox").body(Body::empty()).unwrap()).await;
    let outbox = body_json(response).await;
    let text = outbox.as_array().unwrap().last().unwrap()["text"].as_str().unwrap().to_owned();
    let code = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned();
    let (status, body) = h.json("POST", &format!("/api/v1/applications/{draft}/phone"), &json!({"code": code}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let d = h.dir.path();
    let (key, request) = (format!("{key_name}.key"), format!("{key_name}.csr"));
    openssl(
        d,
        &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", &key,
          "-subj", "/CN=KARIMOV AZIZ/C=UZ", "-out", &request],
    );
    let csr = std::fs::read(d.join(&request)).unwrap();
    let body = multipart(&[
        ("csr", Some("holder.csr"), "application/pkcs10", &csr),
        ("passport", Some("passport.pdf"), "application/pdf", &minimal_pdf()),
        ("selfie", Some("selfie.png"), "image/png", &small_png()),
    ]);
    let response = h.send(submit_request(&draft, Body::from(body))).await;
    let status = response.status();
    let submitted = body_json(response).await;
    assert_eq!(status, StatusCode::CREATED, "{submitted}");
    submitted
}

#[tokio::test]
async fn submit_then_pay_in_the_sandbox_through_the_real_protocol() {
    let h = harness(true, true).await;
    let d = h.dir.path();
    let submitted = submit_over_http(&h, "998901234567", "holder").await;
    let number = submitted["number"].as_str().unwrap().to_owned();
    assert_eq!(submitted["fee_tiyin"], 1_890_000);
    assert_eq!(submitted["fee_sum"], "18 900.00");
    assert!(submitted["pay"]["payme"].as_str().unwrap().starts_with("https://checkout.paycom.uz/"));
    let sandbox_link = submitted["pay"]["sandbox"].as_str().unwrap().to_owned();
    assert_eq!(sandbox_link, format!("/sandbox/pay?application={number}&amount=1890000"));

    let response = h.send(Request::get(&sandbox_link).body(Body::empty()).unwrap()).await;
    let page = String::from_utf8(body_bytes(response).await).unwrap();
    assert!(page.contains(&number) && page.contains("18 900.00"));

    // A wrong amount is refused by our endpoint and nothing is paid.
    let (status, outcome) =
        h.json("POST", "/api/v1/dev/sandbox/pay", &json!({"application": number, "amount": "100"}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["paid"], false);
    assert_eq!(outcome["steps"][0]["reply"]["error"]["code"], -31001);

    let (status, outcome) =
        h.json("POST", "/api/v1/dev/sandbox/pay", &json!({"application": number, "amount": 1_890_000}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["paid"], true, "{outcome}");
    let methods: Vec<_> = outcome["steps"].as_array().unwrap().iter().map(|s| s["method"].as_str().unwrap()).collect();
    // Payme sends Create and Perform twice; the answers must not change.
    assert_eq!(
        methods,
        ["CheckPerformTransaction", "CreateTransaction", "CreateTransaction", "PerformTransaction", "PerformTransaction"]
    );
    assert_eq!(outcome["repeats_consistent"], true, "{outcome}");
    assert_eq!(outcome["steps"][2]["repeat"], true);

    // The sandbox's payment is in the books as the sandbox's, not Payme's: Payme's own
    // endpoint does not know it, and a statement of Payme's transactions leaves it out.
    let check = json!({"id": 1, "method": "CheckTransaction", "params": {"id": outcome["payme_id"]}}).to_string();
    let reply = payme(&h, Some(&basic_auth_header(PAYME_KEY)), &check).await;
    assert_eq!(reply["error"]["code"], -31003, "{reply}");
    let statement = json!({"id": 2, "method": "GetStatement", "params": {"from": 0, "to": i64::MAX / 2}}).to_string();
    let reply = payme(&h, Some(&basic_auth_header(PAYME_KEY)), &statement).await;
    assert_eq!(reply["result"]["transactions"], json!([]), "{reply}");
    let providers: Vec<(String, i64)> = sqlx::query_as("SELECT provider, state FROM payments")
        .fetch_all(h.registration.store().pool())
        .await
        .unwrap();
    assert_eq!(providers, [("sandbox".to_owned(), 2)]);

    // Paid: the form path refuses a second payment and says why, in both languages.
    let form = format!("application={number}&amount=1890000");
    let request = Request::post("/sandbox/pay")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = String::from_utf8(body_bytes(response).await).unwrap();
    assert!(html.contains("To'lanmadi") && html.contains("Not paid") && html.contains("Не оплачено") && html.contains("-31051"), "{html}");

    // The key holder sees the application with a proof of possession OpenSSL made:
    // detached CMS over the challenge, signer by subject key identifier, no certificate.
    let (status, challenge) = h.json("POST", &format!("/api/v1/applications/{number}/challenge"), "").await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::write(d.join("challenge.bin"), b64.decode(challenge["challenge_base64"].as_str().unwrap()).unwrap()).unwrap();
    openssl(d, &["req", "-x509", "-key", "holder.key", "-subj", "/CN=placeholder", "-days", "1", "-out", "holder.crt"]);
    openssl(
        d,
        &["cms", "-sign", "-binary", "-md", "sha256", "-keyid", "-nocerts", "-signer", "holder.crt", "-inkey", "holder.key",
          "-in", "challenge.bin", "-outform", "DER", "-out", "proof.der"],
    );
    let proof = json!({"challenge_id": challenge["id"], "cms_base64": b64.encode(std::fs::read(d.join("proof.der")).unwrap())});
    let (status, view) = h.json("POST", &format!("/api/v1/applications/{number}/view"), &proof.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["number"], number.as_str());
    assert_eq!(view["state"], "paid");
    // The challenge was single-use.
    let (status, body) = h.json("POST", &format!("/api/v1/applications/{number}/view"), &proof.to_string()).await;
    assert!(status.is_client_error(), "{status} {body}");
    error_of(&body);

    // Without an amount the sandbox pays the application's fee: refused too, it is paid.
    let (status, outcome) = h.json("POST", "/api/v1/dev/sandbox/pay", &json!({"application": number}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["paid"], false);
    assert_eq!(outcome["steps"][0]["reply"]["error"]["code"], -31051);

    let (status, body) =
        h.json("POST", "/api/v1/dev/sandbox/pay", &json!({"application": "123456789012", "amount": "-5"}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1.as_deref(), Some("amount"));
    let (status, body) = h.json("POST", "/api/v1/dev/sandbox/pay", &json!({"application": "123456789012"}).to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    error_of(&body);
}

#[tokio::test]
async fn without_the_sandbox_no_answer_advertises_it() {
    // The outbox on (the test reads its code there), the sandbox off.
    let h = harness(true, false).await;
    let submitted = submit_over_http(&h, "998901234568", "holder").await;
    let pay = &submitted["pay"];
    assert!(pay["payme"].is_string(), "{submitted}");
    assert!(pay.get("sandbox").is_none() && pay.get("sandbox_providers").is_none(), "{submitted}");
    assert!(!submitted.to_string().contains("/sandbox/"), "{submitted}");
    let response = h.send(Request::get(format!("/sandbox/pay/{}", submitted["number"].as_str().unwrap())).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
