#!/bin/sh
# Makes two private CAs and the certificates of every host. Good for a lab or a first
# deployment; in production use your own PKI with the same split.
#
#   deploy/tls/make-certs.sh OUT_DIR NAME=SAN[,SAN...] ...
#
# The name says the role of the host:
#   etcd-*     an etcd member: one certificate for clients and peers, from the etcd CA.
#   backend-*  a backend host: its gRPC certificate (server for web replicas, client for other
#              backends) from the gRPC CA, and in NAME-etcd/ one etcd client certificate per
#              identity a backend opens (accounts, graph, posts, reader), CN = the etcd user
#              (flock-accounts …) that deploy/etcd/roles.sh gives a role limited to its keys.
#   web-*      a web host: its gRPC client certificate only. Nothing the etcd CA signed: a web
#              host cannot even complete a TLS handshake with etcd.
# and it always makes etcd-root/root.crt (CN=root): the operator's etcd identity, for
# deploy/etcd/roles.sh only. Keep it, and both CA keys, offline.
#
# e.g.
#   deploy/tls/make-certs.sh ./tls \
#     etcd-1=DNS:etcd-1.flock.internal,IP:10.0.1.11 \
#     backend-1=DNS:backend-1.flock.internal,DNS:backend.flock.internal,IP:10.0.2.11 \
#     web-1=DNS:web-1.flock.internal,IP:10.0.3.11
#
# Writes OUT_DIR/etcd-ca.crt (give to etcd members and backends), grpc-ca.crt (give to backends
# and web hosts), NAME.crt and NAME.key (give to host NAME only), NAME-etcd/ for backends (give
# to backend NAME, as ETCD_CLIENT_CERT_DIR). Existing CAs in OUT_DIR are reused.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR NAME=SAN[,SAN...] ...   (NAME: etcd-*, backend-* or web-*)" >&2
  exit 2
fi
out=$1
shift
mkdir -p "$out"
cd "$out"
umask 077
days=${CERT_DAYS:-825}
ETCD_USERS="accounts graph posts reader"

ca() { # NAME SUBJECT
  if [ ! -f "$1.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$1.key" -out "$1.crt" -days "$days" -subj "/CN=$2" 2>/dev/null
  fi
}

cert() { # CA FILE CN EXTENDED_KEY_USAGE [SANS]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$2.key" -out "$2.csr" -subj "/CN=$3" 2>/dev/null
  {
    printf 'extendedKeyUsage=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n' "$4"
    if [ -n "${5:-}" ]; then printf 'subjectAltName=%s\n' "$5"; fi
  } >"$2.ext"
  openssl x509 -req -in "$2.csr" -CA "$1.crt" -CAkey "$1.key" -CAcreateserial \
    -out "$2.crt" -days "$days" -extfile "$2.ext" 2>/dev/null
  rm -f "$2.csr" "$2.ext"
  chmod 644 "$2.crt"
}

ca etcd-ca "Flock etcd CA"
ca grpc-ca "Flock gRPC CA"
for spec in "$@"; do
  name=${spec%%=*}
  sans=${spec#*=}
  case "$name" in
    etcd*) cert etcd-ca "$name" "$name" serverAuth,clientAuth "$sans" ;;
    backend*)
      cert grpc-ca "$name" "$name" serverAuth,clientAuth "$sans"
      mkdir -p "$name-etcd"
      for user in $ETCD_USERS; do cert etcd-ca "$name-etcd/$user" "flock-$user" clientAuth; done
      ;;
    web*) cert grpc-ca "$name" "$name" clientAuth "$sans" ;;
    *)
      echo "$0: $name: the name must start with etcd, backend or web (it says the host's role)" >&2
      exit 2
      ;;
  esac
done
mkdir -p etcd-root
[ -f etcd-root/root.crt ] || cert etcd-ca etcd-root/root root clientAuth
chmod 644 etcd-ca.crt grpc-ca.crt
echo "certificates in $(pwd): etcd-ca.crt grpc-ca.crt $(for s in "$@"; do printf '%s.crt ' "${s%%=*}"; done)"
