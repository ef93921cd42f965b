//! Object identifiers Imzo uses beyond the standard ones in `const-oid`.

use der::asn1::ObjectIdentifier;

/// PINFL (personal identification number) attribute in subject names.
pub const PINFL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.860.3.16.1.2");
/// Company INN / STIR attribute in subject names.
pub const COMPANY_INN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.860.3.16.1.1");
/// Extended key usage "document signing" (RFC 9336).
pub const EKU_DOCUMENT_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.36");
