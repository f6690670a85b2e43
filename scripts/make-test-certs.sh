#!/usr/bin/env bash
# Makes a test CA and a broker certificate signed by it, for TLS between kiosks, workers and
# the broker (deploy/mosquitto). Tests and trials only: an exhibit uses its own CA.
#   scripts/make-test-certs.sh OUT_DIR [HOST]
# writes OUT_DIR/ca.crt, ca.key, server.crt, server.key; the server certificate names HOST
# (default localhost), localhost and 127.0.0.1. Valid for DAYS days (default 30).
set -euo pipefail
out="${1:?usage: make-test-certs.sh OUT_DIR [HOST]}"
host="${2:-localhost}"
days="${DAYS:-30}"
mkdir -p "$out"
cd "$out"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -subj "/CN=emoji-mirror test CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=${host}" \
  -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
  "$host" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
  -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key
echo "test CA and server certificate for ${host} in ${out}"
