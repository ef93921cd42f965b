use super::*;
use proptest::prelude::*;

#[test]
fn request_round_trips_and_is_checked() {
    let req = TimeStampRequest::for_data(HashAlgorithm::Sha256, b"hello").unwrap();
    let der = req.to_der().unwrap();
    let back = parse_request(&der, &[]).unwrap();
    assert_eq!(back, req);
}

#[test]
fn wrong_imprint_length_and_policy_are_refused() {
    let mut req = TimeStampRequest::for_data(HashAlgorithm::Sha256, b"x").unwrap();
    req.hashed_message.pop();
    let e = parse_request(&req.to_der().unwrap(), &[]).unwrap_err();
    assert_eq!(e.failure, FailureInfo::BadDataFormat);
    let mut req = TimeStampRequest::for_data(HashAlgorithm::Sha256, b"x").unwrap();
    req.policy = Some("1.2.3.4".into());
    let e = parse_request(&req.to_der().unwrap(), &["1.2.3.5"]).unwrap_err();
    assert_eq!(e.failure, FailureInfo::UnacceptedPolicy);
    assert!(parse_request(&req.to_der().unwrap(), &["1.2.3.4"]).is_ok());
}

#[test]
fn rejection_encodes_failure_bit() {
    let der = reject(&Rejection::new(FailureInfo::BadAlg, "no"));
    let resp = RawTimeStampResp::from_der(&der).unwrap();
    assert_eq!(resp.status.status, 2);
    let bits = resp.status.fail_info.unwrap();
    assert_eq!(bits.raw_bytes(), &[0x80]);
}

#[test]
fn generalized_time_with_fraction() {
    let any = der::Any::new(der::Tag::GeneralizedTime, b"20261203201500.25Z".to_vec()).unwrap();
    let t = parse_generalized_time(&any).unwrap();
    assert_eq!(t.unix_timestamp(), 1_796_328_900);
    assert_eq!(t.millisecond(), 250);
}

proptest! {
    #[test]
    fn request_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_request(&bytes, &["1.2.3"]);
    }

    #[test]
    fn response_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let req = TimeStampRequest::for_data(HashAlgorithm::Sha256, b"x").unwrap();
        let _ = token_from_response(&bytes, &req);
        let _ = read_token(&bytes);
    }
}
