#!/usr/bin/env bash
# ocsp.sh -- OCSP responses per second on loopback, side by side in one run:
#   imzo (`imzo up`, pre-signed answers cached in the database and in memory),
#   CFSSL's `ocspserve` (responses pre-signed and held in memory),
#   `openssl ocsp -multi 2` (signs every response),
# all serving the same number of certificates, measured the way
# ../shared/bench/measure_anchors.sh measures them (wrk rotating over serials; hey with
# one serial for OpenSSL, whose responder hangs on wrk's probe connection). Also: the
# time from a revocation to the first `revoked` OCSP answer, and the size and build
# time of a CRL with 1 000 000 entries.
#
# Usage (as root):  bash bench/ocsp.sh
# Knobs (env):      DUR=25 REPS=3 CONNS=16 WRK_THREADS=1 NCERTS=1000 CRL_ENTRIES=1000000
#                   IMZO=path/to/release/imzo (default: cargo build --release -p imzo)  KEEP=0
set -euo pipefail

DUR=${DUR:-25}; REPS=${REPS:-3}; CONNS=${CONNS:-16}; WRK_THREADS=${WRK_THREADS:-1}
NCERTS=${NCERTS:-1000}; CRL_ENTRIES=${CRL_ENTRIES:-1000000}; KEEP=${KEEP:-0}
WARM=3
HERE=$(cd "$(dirname "$0")/.." && pwd)

log()  { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die()  { log "FATAL: $*"; exit 1; }
SUMMARY=()
result() { SUMMARY+=("RESULT $*"); echo "RESULT $*"; }
note()   { SUMMARY+=("NOTE $*");   echo "NOTE $*"; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get, unshare)"
PKGS="golang-cfssl wrk hey sqlite3 jq openssl curl iproute2 util-linux procps bc"
missing=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ -z "${IMZO:-}" ]; then
  log "building imzo (release)"
  (cd "$HERE" && cargo build --release -p imzo --quiet)
  IMZO="${CARGO_TARGET_DIR:-$HERE/target}/release/imzo"
fi
[ -x "$IMZO" ] || die "no imzo binary at $IMZO"

W=$(mktemp -d /tmp/imzo-ocsp-bench.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W"

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
pick_port() { local p=$1; while ! port_free "$p"; do p=$((p+1)); done; echo "$p"; }
wait_port() {
  local i
  for i in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done; return 1
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
             local a=() p; for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && a+=("$p"); done; PIDS=("${a[@]:-}"); }
median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print "NA"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
kv() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" "$1"; }
urlenc() { sed -e 's/%/%25/g' -e 's/+/%2B/g' -e 's#/#%2F#g' -e 's/=/%3D/g'; }

log "workdir $W; $(nproc) cores; $(openssl version); cfssl $(cfssl version 2>/dev/null | sed -n 's/^Version: //p')"

cat > common.lua <<'EOF'
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT reqs=%d dur_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d non2xx=%d econn=%d eread=%d ewrite=%d etimeout=%d \n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
EOF
cat > rotpost.lua <<'EOF'
local reqs, i = {}, 0
function init(args)
  for path in io.lines(args[1]) do
    local f = assert(io.open(path, "rb")); local b = f:read("*a"); f:close()
    reqs[#reqs + 1] = wrk.format("POST", nil, {["Content-Type"] = args[2] or "application/ocsp-request"}, b)
  end
end
function request() i = i % #reqs + 1; return reqs[i] end
EOF
cat > rotget.lua <<'EOF'
local reqs, i = {}, 0
function init(args) for p in io.lines(args[1]) do reqs[#reqs + 1] = wrk.format("GET", p) end end
function request() i = i % #reqs + 1; return reqs[i] end
EOF
cat rotpost.lua common.lua > w_rotpost.lua; cat rotget.lua common.lua > w_rotget.lua

wrk_series() {
  local name=$1 url=$2 script=$3; shift 3
  timeout $((WARM+20)) wrk -t"$WRK_THREADS" -c"$CONNS" -d${WARM}s --timeout 10s -s "$script" "$url" -- "$@" > "$name.warm" 2>&1 || true
  : > "$name.res"
  local r
  for r in $(seq 1 "$REPS"); do
    timeout $((DUR+30)) wrk -t"$WRK_THREADS" -c"$CONNS" -d${DUR}s --timeout 10s -s "$script" "$url" -- "$@" > "$name.$r.out" 2>&1 || true
    grep WRKRESULT "$name.$r.out" >> "$name.res" || log "$name run $r: no result ($(tail -1 "$name.$r.out"))"
    log "$name run $r: $(grep WRKRESULT "$name.$r.out" | cut -d' ' -f2-)"
  done
}
report_wrk() {
  local f=$1.res
  [ -s "$f" ] || { note "$1 no result"; return; }
  local rps p50 p99 errs
  rps=$(kv "$f" rps | median); p50=$(kv "$f" p50_us | median); p99=$(kv "$f" p99_us | median)
  errs=$(awk '{for(i=2;i<=NF;i++){split($i,a,"="); if(a[1]~/^(non2xx|econn|eread|ewrite|etimeout)$/) s+=a[2]}} END{print s+0}' "$f")
  result "$1 responses_per_s=$rps p50_ms=$(echo "scale=2; $p50/1000" | bc) p99_ms=$(echo "scale=2; $p99/1000" | bc) errors_total=$errs runs=$(wc -l < "$f") [$2; wrk -t$WRK_THREADS -c$CONNS -d${DUR}s, median of $REPS]"
}

# ---------------------------------------------------------------- 1. imzo
log "imzo: seeding $NCERTS certificates (every 10th revoked)"
P_IMZO=$(pick_port 18980)
export IMZO_SERVER_PUBLIC_URL="http://127.0.0.1:$P_IMZO"
"$IMZO" bench seed --data "$W/imzo" --count "$NCERTS" --revoke-every 10 --out "$W/imzo-certs" >&2
RUST_LOG=warn "$IMZO" up --data "$W/imzo" --listen "127.0.0.1:$P_IMZO" > imzo.log 2>&1 &
IPID=$!; PIDS+=("$IPID")
wait_port "$P_IMZO" "$IPID" || die "imzo up did not start: $(tail -5 imzo.log)"
ICA="$W/imzo/pki/rc1.pem"; IROOT="$W/imzo/pki/root.pem"
mkdir -p imzo-reqs
for f in imzo-certs/*.pem; do openssl ocsp -issuer "$ICA" -cert "$f" -no_nonce -reqout "imzo-reqs/$(basename "$f" .pem).der" >/dev/null; done
ls "$W"/imzo-reqs/*.der > imzo-reqlist.txt
while read -r f; do printf '/ocsp/%s\n' "$(base64 -w0 "$f" | urlenc)"; done < imzo-reqlist.txt > imzo-getpaths.txt
openssl ocsp -issuer "$ICA" -cert imzo-certs/00001.pem -url "http://127.0.0.1:$P_IMZO/ocsp" -CAfile "$IROOT" 2>&1 | grep -q ': good' \
  || die "imzo OCSP smoke test failed"
openssl ocsp -issuer "$ICA" -cert imzo-certs/00000.pem -url "http://127.0.0.1:$P_IMZO/ocsp" -CAfile "$IROOT" 2>&1 | grep -q ': revoked' \
  || die "imzo OCSP smoke test (revoked) failed"
# Sign every answer ahead once (the background job would within seconds too).
while read -r f; do curl -s -m 5 -o /dev/null --data-binary @"$f" -H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$P_IMZO/ocsp"; done < imzo-reqlist.txt
wrk_series imzo_ocsp_post "http://127.0.0.1:$P_IMZO/ocsp" w_rotpost.lua "$W/imzo-reqlist.txt" application/ocsp-request
wrk_series imzo_ocsp_get "http://127.0.0.1:$P_IMZO" w_rotget.lua "$W/imzo-getpaths.txt"
report_wrk imzo_ocsp_post "imzo up (SQLite), POST, rotating over $(wc -l < imzo-reqlist.txt) serials, pre-signed"
report_wrk imzo_ocsp_get "imzo up (SQLite), GET (RFC 5019), rotating over $(wc -l < imzo-getpaths.txt) serials, pre-signed"

# Revocation → first revoked OCSP answer (operator CLI: process start, .pfx, challenge, CMS, HTTP).
serial=$(openssl x509 -in imzo-certs/00001.pem -noout -serial | cut -d= -f2)
t0=${EPOCHREALTIME/./}
"$IMZO" operator revoke "$serial" --reason keyCompromise --pfx "$W/imzo/operators/operator1.pfx" \
  --password-file "$W/imzo/operators/operator1.password" --server "http://127.0.0.1:$P_IMZO" >/dev/null
t1=${EPOCHREALTIME/./}
until openssl ocsp -issuer "$ICA" -cert imzo-certs/00001.pem -url "http://127.0.0.1:$P_IMZO/ocsp" -no_nonce -CAfile "$IROOT" 2>&1 | grep -q ': revoked'; do
  (( ${EPOCHREALTIME/./} - t0 > 30000000 )) && die "no revoked answer within 30 s"
  sleep 0.05
done
t2=${EPOCHREALTIME/./}
result "imzo_revocation_to_ocsp revoke_command_ms=$(( (t1-t0)/1000 )) revoke_to_revoked_answer_ms=$(( (t2-t0)/1000 )) [imzo operator revoke, then openssl ocsp -no_nonce (cached path) until revoked]"
until curl -s "http://127.0.0.1:$P_IMZO/crl/rc1.crl" | openssl crl -inform DER -noout -text 2>/dev/null | grep -qi "$serial"; do
  (( ${EPOCHREALTIME/./} - t0 > 30000000 )) && die "the CRL does not list the revoked serial within 30 s"
  sleep 0.1
done
t3=${EPOCHREALTIME/./}
result "imzo_revocation_to_crl ms=$(( (t3-t0)/1000 )) [default status.crl_delay_seconds = 2]"
stop_pid "$IPID"

log "CRL with $CRL_ENTRIES entries"
result "imzo_crl_large $("$IMZO" bench crl --entries "$CRL_ENTRIES")"

# ---------------------------------------------------------------- 2. cfssl ocspserve (as measure_anchors.sh)
log "cfssl: issuing $NCERTS certs"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -new -x509 -key ca.key -sha256 -days 3650 -subj "/CN=Bench CA/O=Bench" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out ca.pem
openssl ecparam -name prime256v1 -genkey -noout -out ee.key
openssl req -new -key ee.key -sha256 -subj "/CN=bench.example/O=Bench" -out ee.csr
jq -n --rawfile c ee.csr '{certificate_request: $c}' > sign.json
echo '{"signing":{"default":{"expiry":"8760h","usages":["digital signature","key encipherment","server auth"]}}}' > cfssl.json
cat > schema.sql <<'EOF'
CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob,
  status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL,
  expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES certificates(serial_number, authority_key_identifier));
EOF
sqlite3 ocsp.db < schema.sql
jq -n --arg d "$W/ocsp.db" '{driver: "sqlite3", data_source: $d}' > ocspdb.json
P_SIGN=$(pick_port 18888)
cfssl serve -loglevel 2 -address 127.0.0.1 -port "$P_SIGN" -ca ca.pem -ca-key ca.key -config cfssl.json -db-config ocspdb.json > serve.log 2>&1 &
SPID=$!; PIDS+=("$SPID")
wait_port "$P_SIGN" "$SPID" || die "cfssl serve did not start"
timeout 600 hey -n "$NCERTS" -c 4 -t 20 -m POST -T application/json -D sign.json "http://127.0.0.1:$P_SIGN/api/v1/cfssl/sign" > hey_issue.txt 2>&1 || die "hey issuance failed"
stop_pid "$SPID"
timeout 300 cfssl ocsprefresh -loglevel 2 -db-config ocspdb.json -ca ca.pem -responder ca.pem -responder-key ca.key
timeout 120 cfssl ocspdump -loglevel 2 -db-config ocspdb.json > responses.b64
mkdir -p certs reqs
sqlite3 ocsp.db 'select pem from certificates' | awk '/BEGIN CERT/{n++; f=sprintf("certs/%05d.pem",n)} n{print > f}'
for f in certs/*.pem; do openssl ocsp -issuer ca.pem -cert "$f" -no_nonce -reqout "reqs/$(basename "$f" .pem).der" >/dev/null; done
ls "$W"/reqs/*.der > reqlist.txt
P_OCSP=$(pick_port 18889)
cfssl ocspserve -loglevel 2 -address 127.0.0.1 -port "$P_OCSP" -responses responses.b64 > ocspserve.log 2>&1 &
OPID=$!; PIDS+=("$OPID")
wait_port "$P_OCSP" "$OPID" || die "cfssl ocspserve did not start"
curl -s -m 5 -o smoke.resp --data-binary @reqs/00001.der -H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$P_OCSP/"
openssl ocsp -respin smoke.resp -CAfile ca.pem -issuer ca.pem -cert certs/00001.pem 2>&1 | grep -q ': good' || die "cfssl smoke test failed"
wrk_series cfssl_ocsp_post "http://127.0.0.1:$P_OCSP/" w_rotpost.lua "$W/reqlist.txt" application/ocsp-request
stop_pid "$OPID"
report_wrk cfssl_ocsp_post "cfssl ocspserve -responses (pre-signed, in memory), POST, rotating over $(wc -l < reqlist.txt) serials"

# ---------------------------------------------------------------- 3. openssl ocsp -multi 2 (as measure_anchors.sh)
exp=$(date -u -d "$(openssl x509 -in certs/00001.pem -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
for f in certs/*.pem; do openssl x509 -in "$f" -noout -serial | cut -d= -f2; done \
  | awk -v e="$exp" '{printf "V\t%s\t\t%s\tunknown\t/O=Bench/CN=bench.example\n", e, $1}' > index.txt
echo "unique_subject = no" > index.txt.attr
P_OSSL=18890
cat > ossl_ns.sh <<'EOF'
set -u
W=$1; PORT=$2; MULTI=$3; DUR=$4; REPS=$5; CONNS=$6; TAG=$7
cd "$W"; ip link set lo up
extra=(); [ "$MULTI" -gt 0 ] && extra=(-multi "$MULTI")
SP=""
stop() { [ -n "$SP" ] || return 0; local kids; kids=$(pgrep -P "$SP" || true); kill "$SP" 2>/dev/null
         for k in $kids; do kill "$k" 2>/dev/null; done; wait "$SP" 2>/dev/null; SP=""; }
trap stop EXIT
: > "$TAG.res"
for r in $(seq 1 "$REPS"); do
  openssl ocsp -port "$PORT" -index index.txt -CA ca.pem -rsigner ca.pem -rkey ca.key -nmin 60 -ignore_err "${extra[@]}" > "$TAG.srv.$r.log" 2>&1 &
  SP=$!; ok=0
  for i in $(seq 1 50); do
    sleep 0.2
    curl -s -m 2 -o "$TAG.smoke" --data-binary @reqs/00001.der -H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$PORT/" || continue
    openssl ocsp -respin "$TAG.smoke" -CAfile ca.pem -issuer ca.pem -cert certs/00001.pem 2>&1 | grep -q ': good' && { ok=1; break; }
  done
  [ "$ok" = 1 ] || { echo "SMOKEFAIL run $r"; stop; continue; }
  timeout $((DUR+30)) hey -z ${DUR}s -c "$CONNS" -t 10 -m POST -T application/ocsp-request -D reqs/00001.der "http://127.0.0.1:$PORT/" > "$TAG.$r.out" 2>&1
  awk '/Requests\/sec:/{rps=$2} /  50% in/{p50=$3*1e6} /  99% in/{p99=$3*1e6}
       /Status code distribution/{sec=1; next} /Error distribution/{sec=2; next}
       sec==1 && /^[ \t]*\[[0-9]+\]/{c=$1; gsub(/[^0-9]/,"",c); if (c==200) ok+=$2; else bad+=$2}
       sec==2 && /^[ \t]*\[[0-9]+\]/{c=$1; gsub(/[^0-9]/,"",c); er+=c}
       END{printf "WRKRESULT reqs=%d dur_us=0 rps=%.1f p50_us=%d p90_us=0 p99_us=%d non2xx=%d econn=0 eread=%d ewrite=0 etimeout=0 \n", ok, rps, p50, p99, bad+0, er+0}' \
    "$TAG.$r.out" >> "$TAG.res"
  stop
done
EOF
log "openssl ocsp -multi 2"
timeout $(( REPS*(DUR+45) + 60 )) unshare -n bash ossl_ns.sh "$W" "$P_OSSL" 2 "$DUR" "$REPS" "$CONNS" openssl_ocsp_multi2 || log "openssl run exited non-zero"
if [ -s openssl_ocsp_multi2.res ]; then
  f=openssl_ocsp_multi2.res
  result "openssl_ocsp_multi2 responses_per_s=$(kv "$f" rps | median) p50_ms=$(echo "scale=2; $(kv "$f" p50_us | median)/1000" | bc) p99_ms=$(echo "scale=2; $(kv "$f" p99_us | median)/1000" | bc) runs=$(wc -l < "$f") [openssl ocsp -multi 2, signs every response; hey -z ${DUR}s -c $CONNS, one serial, median of $REPS]"
else
  note "openssl_ocsp_multi2 no result"
fi

# ---------------------------------------------------------------- summary
imzo_rps=$(kv imzo_ocsp_post.res rps | median); cfssl_rps=$(kv cfssl_ocsp_post.res rps | median)
if [ "$imzo_rps" != NA ] && [ "$cfssl_rps" != NA ]; then
  result "ratio imzo_post/cfssl_post=$(echo "scale=2; $imzo_rps/$cfssl_rps" | bc) (goal >= 2)"
fi
echo
echo "==== OCSP side by side ($(date -u +%FT%TZ); $(nproc) cores; $(openssl version | cut -d' ' -f1-2); imzo $("$IMZO" --version | cut -d' ' -f2)) ===="
printf '%s\n' "${SUMMARY[@]}"
