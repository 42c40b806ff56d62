#!/bin/sh
# Makes a private CA and one certificate per host, for etcd (client and peer TLS) and for
# web <-> backend gRPC (mutual TLS). Good for a lab or a first deployment; in production use
# your own PKI. Every certificate is valid for both server and client authentication, so a
# backend presents the same one to web replicas (as server) and to etcd (as client).
#
#   deploy/tls/make-certs.sh OUT_DIR NAME=SAN[,SAN...] ...
#
# e.g.
#   deploy/tls/make-certs.sh ./tls \
#     etcd-1=DNS:etcd-1.flock.internal,IP:10.0.1.11 \
#     backend-1=DNS:backend-1.flock.internal,DNS:backend.flock.internal,IP:10.0.2.11 \
#     web-1=DNS:web-1.flock.internal,IP:10.0.3.11
#
# Writes OUT_DIR/ca.crt (give to every host), ca.key (keep offline), NAME.crt and NAME.key
# (give to host NAME only). An existing CA in OUT_DIR is reused.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR NAME=SAN[,SAN...] ..." >&2
  exit 2
fi
out=$1
shift
mkdir -p "$out"
cd "$out"
umask 077
days=${CERT_DAYS:-825}
if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.crt -days "$days" -subj "/CN=Flock CA" 2>/dev/null
fi
for spec in "$@"; do
  name=${spec%%=*}
  sans=${spec#*=}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n' \
    "$sans" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$name.crt" -days "$days" -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
done
chmod 644 ca.crt ./*.crt
echo "certificates in $(pwd): ca.crt $(for s in "$@"; do printf '%s.crt ' "${s%%=*}"; done)"
