#!/usr/bin/env bash
# Test certificates for the Lua binding tests, made with the openssl CLI in
# about a second (the Rust generator, `cargo run --example gen_test_certs`,
# would compile for a minute). Same file names as that generator, as
# scripts/with-broker.sh expects (EMQ_BROKER_TLS_DIR):
#   ca.pem            the CA that signed everything below
#   other-ca.pem      a CA that signed nothing here
#   server.pem/.key   127.0.0.1, ::1, localhost
#   expired.pem/.key  the same names, valid 2019-01-01 .. 2020-01-01
#   client.pem/.key   a client certificate (mutual TLS)
#   client-enc.key    its key as encrypted PKCS#8, password embermq-key-pass
#
#   bindings/lua/tests/gen-certs.sh <dir>
set -euo pipefail
dir="${1:?usage: gen-certs.sh <dir>}"
mkdir -p "$dir"
cd "$dir"
[ -f ca.pem ] && [ -f expired.pem ] && [ -f client-enc.key ] && exit 0

work="$(mktemp -d "${TMPDIR:-/tmp}/emq-lua-certs.XXXXXX")"
trap 'rm -rf "$work"' EXIT

ec() { openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$1"; }

ec ca.key
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=embermq lua test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>/dev/null
ec other-ca.key
openssl req -x509 -new -key other-ca.key -sha256 -days 3650 -subj "/CN=embermq lua other CA" \
    -addext "basicConstraints=critical,CA:TRUE" -out other-ca.pem 2>/dev/null

cat >"$work/server.ext" <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EOF
cat >"$work/client.ext" <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EOF

ec server.key
openssl req -new -key server.key -subj "/CN=localhost" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile "$work/server.ext" -out server.pem 2>/dev/null

ec client.key
openssl req -new -key client.key -subj "/CN=embermq-lua-client" -out "$work/client.csr" 2>/dev/null
openssl x509 -req -in "$work/client.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile "$work/client.ext" -out client.pem 2>/dev/null

openssl pkcs8 -topk8 -in client.key -v2 aes-256-cbc -v2prf hmacWithSHA256 \
    -passout pass:embermq-key-pass -out client-enc.key

# The expired one needs fixed dates: `openssl ca` takes them.
ec expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out "$work/expired.csr" 2>/dev/null
mkdir -p "$work/ca"
: >"$work/ca/index.txt"
echo 1000 >"$work/ca/serial"
cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = test
[ test ]
dir = $work/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
copy_extensions = none
[ any ]
commonName = supplied
EOF
openssl ca -batch -config "$work/ca.cnf" -cert ca.pem -keyfile ca.key \
    -startdate 20190101000000Z -enddate 20200101000000Z -extfile "$work/server.ext" \
    -in "$work/expired.csr" -out "$work/expired.full" -notext 2>/dev/null
openssl x509 -in "$work/expired.full" -out expired.pem
rm -f ca.srl
chmod 644 ./*.pem ./*.key
echo "gen-certs: test certificates in $PWD"
