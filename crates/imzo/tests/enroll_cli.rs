//! `imzo enroll` as a hostile tester drove it: every argument is checked on this computer
//! before any SMS is sent, the key file is written only once the server accepted the
//! application, and a wrong SMS code can be corrected while the server allows tries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PINFL: &str = "32808810170066";
const PHONE_INPUT: &str = "+998 93 555 12 34";
const PHONE: &str = "998935551234";

/// Documents and password files in `work`.
struct Inputs {
    pdf: PathBuf,
    png: PathBuf,
    password: PathBuf,
}

fn inputs(work: &Path) -> Inputs {
    let inputs = Inputs { pdf: work.join("passport.pdf"), png: work.join("selfie.png"), password: work.join("good.password") };
    write_pdf(&inputs.pdf);
    write_png(&inputs.png);
    std::fs::write(&inputs.password, "correct horse battery staple\n").unwrap();
    inputs
}

/// `imzo enroll` for the test applicant, with `passport_scan`, keys in `keys`.
fn enroll(server: &str, pinfl: &str, passport_scan: &Path, selfie: &Path, password: &Path, keys: &Path) -> Command {
    enroll_with(server, pinfl, passport_scan, selfie, password, keys, &[])
}

/// As [`enroll`], with some text fields replaced (`("--phone", "12345")`).
fn enroll_with(
    server: &str,
    pinfl: &str,
    passport_scan: &Path,
    selfie: &Path,
    password: &Path,
    keys: &Path,
    replaced: &[(&str, &str)],
) -> Command {
    let mut fields = vec![
        ("--surname", "Aliyev"),
        ("--given-name", "Vali"),
        ("--birth-date", "1981-08-28"),
        ("--region", "Toshkent shahri"),
        ("--passport", "AA1234567"),
        ("--phone", PHONE_INPUT),
    ];
    for (flag, value) in replaced {
        match fields.iter_mut().find(|(f, _)| f == flag) {
            Some(field) => field.1 = value,
            None => fields.push((flag, value)),
        }
    }
    let mut cmd = imzo();
    cmd.args(["enroll", "--server", server, "--type", "individual", "--pinfl", pinfl]);
    for (flag, value) in fields {
        cmd.args([flag, value]);
    }
    cmd.arg("--passport-scan")
        .arg(passport_scan)
        .arg("--selfie")
        .arg(selfie)
        .arg("--password-file")
        .arg(password)
        .arg("--keys")
        .arg(keys);
    cmd
}

fn key_files(keys: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(keys.join("DSKEYS"))
        .map(|dir| dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn sms_to_applicant(server: &Server) -> usize {
    server.outbox(0).iter().filter(|m| m["phone"] == PHONE).count()
}

/// Runs `cmd` (stdin /dev/null) and checks it is refused with exit status 2 and a message
/// containing `expected`, without an SMS and without a key file.
fn refused_locally(server: &Server, keys: &Path, cmd: &mut Command, expected: &str) -> Output {
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{cmd:?}:\n{}\n{stderr}", text(&out.stdout));
    assert!(stderr.contains(expected), "expected {expected:?} in:\n{stderr}");
    assert_eq!(sms_to_applicant(server), 0, "an SMS was sent although the input is bad: {stderr}");
    assert_eq!(key_files(keys), Vec::<String>::new(), "a key file was left behind: {stderr}");
    out
}

#[test]
fn enroll_checks_everything_before_sending_and_lets_a_wrong_code_be_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let server = Server::start(&data, None, &[("IMZO_FEES_BCV", "2020-01-01=270000")]);
    let base = server.base.clone();
    let i = inputs(work);
    let keys = work.join("keys");

    // A program renamed to .png, and a 6 MB PDF.
    let fake_png = work.join("fake.png");
    std::fs::copy("/bin/ls", &fake_png).unwrap();
    let mut cmd = enroll(&base, PINFL, &fake_png, &i.png, &i.password, &keys);
    refused_locally(&server, &keys, &mut cmd, "--passport-scan");
    let out = refused_locally(&server, &keys, &mut cmd, "PDF, PNG or JPEG");
    assert!(!text(&out.stderr).contains("the server refused"), "{}", text(&out.stderr));
    let big_pdf = work.join("big.pdf");
    let mut bytes = std::fs::read(&i.pdf).unwrap();
    bytes.resize(6 * 1024 * 1024, b'\n');
    std::fs::write(&big_pdf, &bytes).unwrap();
    refused_locally(&server, &keys, &mut enroll(&base, PINFL, &i.pdf, &big_pdf, &i.password, &keys), "5 MB");
    // An image that does not decode.
    let broken_png = work.join("broken.png");
    let png = std::fs::read(&i.png).unwrap();
    std::fs::write(&broken_png, &png[..png.len() / 2]).unwrap();
    refused_locally(&server, &keys, &mut enroll(&base, PINFL, &broken_png, &i.png, &i.password, &keys), "--passport-scan");

    // Fields, with the precise reason.
    refused_locally(
        &server,
        &keys,
        &mut enroll(&base, "32808810170067", &i.pdf, &i.png, &i.password, &keys),
        "check digit is wrong",
    );
    refused_locally(
        &server,
        &keys,
        &mut enroll_with(&base, PINFL, &i.pdf, &i.png, &i.password, &keys, &[("--birth-date", "1981-28-08")]),
        "--birth-date",
    );
    refused_locally(
        &server,
        &keys,
        &mut enroll_with(&base, PINFL, &i.pdf, &i.png, &i.password, &keys, &[("--passport", "A1")]),
        "--passport",
    );
    refused_locally(
        &server,
        &keys,
        &mut enroll_with(&base, PINFL, &i.pdf, &i.png, &i.password, &keys, &[("--phone", "12345")]),
        "--phone",
    );

    // A weak password, and an SMS code that is not a code.
    let weak = work.join("weak.password");
    std::fs::write(&weak, "a\n").unwrap();
    refused_locally(
        &server,
        &keys,
        &mut enroll_with(&base, PINFL, &i.pdf, &i.png, &weak, &keys, &[("--code", "123456")]),
        "at least 8 characters",
    );
    refused_locally(
        &server,
        &keys,
        &mut enroll_with(&base, PINFL, &i.pdf, &i.png, &i.password, &keys, &[("--code", "12345")]),
        "--code",
    );

    // No terminal, no --code, stdin /dev/null: nothing could answer the SMS, so none is sent.
    refused_locally(&server, &keys, &mut enroll(&base, PINFL, &i.pdf, &i.png, &i.password, &keys), "--code");

    // A wrong --code is tried once: a definite refusal, and no key file.
    let out = run(&mut enroll_with(&base, PINFL, &i.pdf, &i.png, &i.password, &keys, &[("--code", "000000")]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(sms_to_applicant(&server), 1);
    assert_eq!(key_files(&keys), Vec::<String>::new(), "a key file was left behind by a refused application");

    // Piped codes: a wrong one, then the right one; the server's tries left are shown.
    let after = server.outbox_last_id();
    let mut child = enroll(&base, PINFL, &i.pdf, &i.png, &i.password, &keys)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = code_in(server.wait_sms(PHONE, after)["text"].as_str().unwrap());
    let wrong: String = code.chars().map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10)).collect();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{wrong}").unwrap();
    writeln!(stdin, "{code}").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "imzo enroll failed:\n{stdout}\n{stderr}");
    assert!(stderr.contains("Tries left: 4"), "{stderr}");
    assert!(stdout.contains("Application number:"), "{stdout}");
    assert_eq!(key_files(&keys), vec![format!("DS{PINFL}0001.pfx")]);
    server.stop();
}

#[test]
fn a_missing_key_file_is_reported_once() {
    let tmp = tempfile::tempdir().unwrap();
    let password = tmp.path().join("pw");
    let doc = tmp.path().join("doc.txt");
    std::fs::write(&password, "whatever1\n").unwrap();
    std::fs::write(&doc, "text").unwrap();
    let missing = tmp.path().join("nonexistent.pfx");
    let mut commands = [imzo(), imzo(), imzo()];
    commands[0].arg("sign").arg("--pfx").arg(&missing).arg("--password-file").arg(&password).arg(&doc).arg("-o");
    commands[0].arg(tmp.path().join("doc.p7s"));
    commands[1].args(["enroll", "status", "123456789012", "--pfx"]).arg(&missing).arg("--password-file").arg(&password);
    commands[2].args(["operator", "approve", "123456789012", "--pfx"]).arg(&missing).arg("--password-file").arg(&password);
    for cmd in &mut commands {
        let out = run(cmd);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert_eq!(stderr.matches("No such file or directory").count(), 1, "{cmd:?}: {stderr}");
        assert!(stderr.contains("nonexistent.pfx"), "{stderr}");
    }
}

#[test]
fn a_bad_pinfl_check_digit_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let i = inputs(tmp.path());
    let keys = tmp.path().join("keys");
    // No server is running there: the refusal must come before any network call.
    let out = run(&mut enroll("http://127.0.0.1:9", "32808810170067", &i.pdf, &i.png, &i.password, &keys));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--pinfl") && stderr.contains("check digit is wrong"), "{stderr}");
    assert!(!stderr.contains("neither a PINFL"), "{stderr}");
    let out = run(&mut enroll("http://127.0.0.1:9", "33213810170066", &i.pdf, &i.png, &i.password, &keys));
    assert!(text(&out.stderr).contains("real birth date"), "{}", text(&out.stderr));
}
