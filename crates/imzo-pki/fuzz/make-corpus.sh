#!/usr/bin/env bash
# Regenerates the seed corpora in corpus/<target>/seed-*: small, valid inputs made by the
# OpenSSL 3 CLI (each under 4 KB). The committed seeds are what the fuzz targets and the
# stable smoke test (tests/fuzz_smoke.rs) start from; rerun only to refresh them.
set -euo pipefail
cd "$(dirname "$0")"
out=$PWD/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
q() { openssl "$@" 2>/dev/null >/dev/null; }

ec() { q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"${2:-P-256}" -out "$1.key"; }
ec root
q req -x509 -new -key root.key -subj "/CN=Fuzz Root/O=Imzo/C=UZ" -days 3650 -out root.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -addext subjectKeyIdentifier=hash
leaf() { # name key-usage [subject]
    q req -new -key "$1.key" -subj "${3:-/CN=Valiyev Ali/C=UZ/serialNumber=30101901234567}" -out "$1.csr"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nextendedKeyUsage=emailProtection,clientAuth\nauthorityInfoAccess=OCSP;URI:http://ocsp.imzo.test/,caIssuers;URI:http://imzo.test/root.crt\ncrlDistributionPoints=URI:http://imzo.test/root.crl\ncertificatePolicies=1.2.860.3.2.2.1.1\n' "$2" >"$1.ext"
    q x509 -req -in "$1.csr" -CA root.pem -CAkey root.key -CAcreateserial -days 730 -sha256 \
        -extfile "$1.ext" -out "$1.pem"
}
ec leaf; leaf leaf digitalSignature,nonRepudiation
ec second P-384; leaf second digitalSignature "/CN=Second Signer/O=Imzo/C=UZ"
q genpkey -algorithm ED25519 -out ed.key; leaf ed digitalSignature "/CN=Ed Signer/C=UZ"
q genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key
leaf rsa digitalSignature,keyEncipherment "/CN=RSA Signer/C=UZ"
printf 'Hujjat matni: 1 000 000 so'"'"'m\n' >content.txt

put() { # target name file
    mkdir -p "$out/$1"
    local size
    size=$(stat -c %s "$3")
    if [ "$size" -ge 4096 ]; then echo "make-corpus: $1/$2 is $size bytes" >&2; exit 1; fi
    cp "$3" "$out/$1/seed-$2"
}
rm -rf "$out"

# Certificates: DER of each kind, a PEM bundle, a bare base64 line.
for n in root leaf second ed rsa; do
    q x509 -in "$n.pem" -outform DER -out "$n.der"
    put certificate "$n.der" "$n.der"
done
cat leaf.pem root.pem >bundle.pem; put certificate bundle.pem bundle.pem
base64 -w0 leaf.der >leaf.b64; put certificate leaf.b64 leaf.b64

# CRLs: empty, with entries and reasons, DER and PEM.
mkdir -p ca; : >ca/index.txt; echo 1000 >ca/serial; echo 01 >ca/crlnumber
cat >ca.cnf <<CNF
[ca]
default_ca = t
[t]
dir = $work/ca
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_crl_days = 7
policy = p
[p]
commonName = supplied
[crl_ext]
authorityKeyIdentifier = keyid
CNF
q ca -config ca.cnf -gencrl -cert root.pem -keyfile root.key -crlexts crl_ext -out empty.pem
q crl -in empty.pem -outform DER -out empty.der; put crl empty.der empty.der
for n in leaf second rsa; do
    q ca -config ca.cnf -cert root.pem -keyfile root.key -revoke "$n.pem" -crl_reason keyCompromise
done
q ca -config ca.cnf -gencrl -cert root.pem -keyfile root.key -crlexts crl_ext -out revoked.pem
q crl -in revoked.pem -outform DER -out revoked.der
put crl revoked.der revoked.der; put crl revoked.pem revoked.pem

# OCSP requests: nonce or not, SHA-1 or SHA-256 CertIDs, one or two certificates, signed.
q ocsp -issuer root.pem -cert leaf.pem -reqout nonce.der; put ocsp_request nonce.der nonce.der
q ocsp -issuer root.pem -cert leaf.pem -no_nonce -reqout plain.der; put ocsp_request plain.der plain.der
q ocsp -sha256 -issuer root.pem -cert leaf.pem -cert second.pem -reqout two.der; put ocsp_request two-sha256.der two.der
q ocsp -issuer root.pem -cert leaf.pem -signer leaf.pem -signkey leaf.key -reqout signed.der
put ocsp_request signed.der signed.der

# Time-stamp requests: each hash, nonce or not, certReq, a policy.
for h in sha256 sha384 sha512 sha1; do
    q ts -query -data content.txt -"$h" -cert -out "ts-$h.tsq"; put tsa_request "$h.tsq" "ts-$h.tsq"
done
q ts -query -data content.txt -sha256 -no_nonce -tspolicy 1.2.860.3.2.2.1.9 -out ts-policy.tsq
put tsa_request policy.tsq ts-policy.tsq

# PKCS#12, password "fuzz": OpenSSL 3 default, legacy (if the provider is there), no chain.
q pkcs12 -export -inkey leaf.key -in leaf.pem -certfile root.pem -passout pass:fuzz -out default.p12
put pfx default.p12 default.p12
q pkcs12 -export -inkey leaf.key -in leaf.pem -passout pass:fuzz -iter 1000 -macalg sha256 -out alone.p12
put pfx alone.p12 alone.p12
if q pkcs12 -export -legacy -inkey leaf.key -in leaf.pem -passout pass:fuzz -out legacy.p12; then
    put pfx legacy.p12 legacy.p12
fi

# PKCS#10: DER and PEM, with requested extensions, P-256 / P-384 / RSA / Ed25519 keys.
q req -new -key leaf.key -subj "/CN=Valiyev Ali/C=UZ/serialNumber=30101901234567" \
    -addext keyUsage=critical,digitalSignature -addext subjectAltName=email:ali@imzo.test \
    -outform DER -out ext.der
put csr p256-ext.der ext.der
q req -in leaf.csr -outform DER -out leaf-csr.der; put csr p256.der leaf-csr.der
put csr p256.pem leaf.csr
q req -in second.csr -outform DER -out second-csr.der; put csr p384.der second-csr.der
q req -in rsa.csr -outform DER -out rsa-csr.der; put csr rsa.der rsa-csr.der
q req -in ed.csr -outform DER -out ed-csr.der; put csr ed25519.der ed-csr.der

# CMS SignedData: attached, detached, streamed BER, key-id signer, two signers, no attributes.
sign() { name=$1; shift; q cms -sign -md sha256 -binary -in content.txt -outform DER -out "$name" "$@"; }
sign attached.der -nodetach -signer leaf.pem -inkey leaf.key -certfile root.pem
sign detached.der -signer leaf.pem -inkey leaf.key
sign streamed.ber -nodetach -stream -signer leaf.pem -inkey leaf.key
sign keyid.der -nodetach -keyid -signer leaf.pem -inkey leaf.key
sign two.der -nodetach -signer leaf.pem -inkey leaf.key -signer second.pem -inkey second.key
sign noattr.der -nodetach -noattr -nocerts -signer leaf.pem -inkey leaf.key
sign rsa.der -nodetach -signer rsa.pem -inkey rsa.key
for f in attached.der detached.der streamed.ber keyid.der two.der noattr.der rsa.der; do
    put cms_verify "$f" "$f"
done
put ber_to_der streamed.ber streamed.ber
put ber_to_der attached.der attached.der
sign streamed-detached.ber -stream -signer leaf.pem -inkey leaf.key
put ber_to_der streamed-detached.ber streamed-detached.ber
put ber_to_der empty-crl.der empty.der
find "$out" -type f | sort | while read -r f; do printf '%6d %s\n' "$(stat -c %s "$f")" "${f#"$out"/}"; done
