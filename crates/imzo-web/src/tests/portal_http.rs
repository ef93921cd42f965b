//! The portal's pages and assets through the router: language by `Accept-Language`,
//! `?lang=` (which sets the cookie) and the cookie; assets with their media types.

use super::harness::{body_bytes, harness};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

async fn get(h: &super::harness::Harness, uri: &str, headers: &[(header::HeaderName, &str)]) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = h.send(request.body(Body::empty()).unwrap()).await;
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, String::from_utf8(body_bytes(response).await).unwrap())
}

#[tokio::test]
async fn pages_speak_the_language_asked_for() {
    let h = harness(true, true).await;
    let (status, headers, body) = get(&h, "/", &[(header::ACCEPT_LANGUAGE, "ru-RU,ru;q=0.9")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert_eq!(headers[header::CONTENT_LANGUAGE], "ru");
    assert!(body.contains("<html lang=\"ru\"") && body.contains("Получить ключ ЭЦП"), "{body}");
    assert!(headers.get(header::SET_COOKIE).is_none());

    let (_, headers, body) = get(&h, "/apply?lang=uz-Cyrl", &[(header::ACCEPT_LANGUAGE, "en")]).await;
    assert_eq!(headers[header::CONTENT_LANGUAGE], "uz-Cyrl");
    assert!(headers[header::SET_COOKIE].to_str().unwrap().starts_with("imzo_lang=uz-Cyrl;"));
    assert!(body.contains("Электрон имзо калитини олиш"), "{body}");
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));

    let (_, headers, body) = get(&h, "/find", &[(header::ACCEPT_LANGUAGE, "ru"), (header::COOKIE, "imzo_lang=en")]).await;
    assert_eq!(headers[header::CONTENT_LANGUAGE], "en");
    assert!(body.contains("Find / confirm application"));
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let h = harness(false, false).await;
    for (name, media_type) in [
        ("portal.css", "text/css"),
        ("portal.js", "text/javascript"),
        ("apply.js", "text/javascript"),
        ("find.js", "text/javascript"),
        ("home.js", "text/javascript"),
        ("imzo-client.js", "text/javascript"),
    ] {
        let (status, headers, body) = get(&h, &format!("/portal/{name}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(media_type), "{name}");
        assert!(!body.is_empty());
    }
    let (status, _, body) = get(&h, "/portal/../Cargo.toml", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = get(&h, "/portal/nothing.js", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_module_downloads_as_the_running_program() {
    let h = harness(false, false).await;
    let (_, _, home) = get(&h, "/?lang=en", &[]).await;
    if cfg!(target_os = "linux") {
        assert!(home.contains("href=\"/download/imzo\""), "the home page links the download: {home}");
        let linux = home.split("<summary>Linux</summary>").nth(1).unwrap().split("</details>").next().unwrap();
        assert!(!linux.contains("rustup.rs"), "no toolchain needed on the server's own platform: {linux}");
    }
    let response = h.send(Request::get("/download/imzo").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_DISPOSITION], "attachment; filename=\"imzo\"");
    // Debug test binaries outgrow the harness's 64 MiB reading limit.
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    if cfg!(target_os = "linux") {
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(&exe));
        assert!(home.contains(&digest), "the page shows the download's SHA-256");
    }
    assert!(body == exe, "the bytes of the running executable ({} vs {} bytes)", body.len(), exe.len());
}
