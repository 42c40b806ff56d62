#!/bin/sh
# Gives each Flock service its own etcd identity, limited to its keys, and turns etcd's auth on.
# Run once, by the operator, against a cluster whose members run with --client-cert-auth
# (deploy/etcd/etcd-N.env): users are the CNs of the client certificates that
# deploy/tls/make-certs.sh issues, so no password exists anywhere. Running it again is harmless.
#
#   ETCDCTL_ENDPOINTS=https://10.0.1.11:2379 \
#   ETCDCTL_CACERT=tls/etcd-ca.crt ETCDCTL_CERT=tls/etcd-root/root.crt ETCDCTL_KEY=tls/etcd-root/root.key \
#     deploy/etcd/roles.sh [ETCD_PREFIX, default flock/]
#
# The key layout (src/storage/keys.ts, layout v2) makes the roles simple:
#   <prefix>v2/a/ … <prefix>v2/u   the views' range: every fact a view needs, nothing secret
#   <prefix>v2/_s/                  secrets (password hashes, login-failure counters)
#   <prefix>v2/t/<a|g|p>            each service's tick
#   <prefix>v2/_r/<a|g|p>/          each service's applied-marks (src/storage/writer.ts)
# Identity         reads                          writes
#   flock-accounts the views' range, _s/           a/, _s/, t/a, _r/a/
#   flock-graph    the views' range                g/, t/g, _r/g/
#   flock-posts    the views' range                p/, t/p, _r/p/
#   flock-reader   the views' range, v1/ (*)       nothing
#   root           everything (the operator; auth enable needs it)
# (*) so a backend can see that there is no layout-v1 data left to upgrade. Upgrade an old
# deployment before turning auth on: `npm start`, or one backend run with a root certificate.
# Web hosts get no identity at all (and no certificate from the etcd CA).
set -eu
prefix=${1:-flock/}
v2="${prefix}v2/"

ctl() { etcdctl "$@"; }
quiet() { ctl "$@" >/dev/null 2>&1 || true; }

# A user for every identity, no password: a client proves it with its certificate's CN.
for user in root flock-accounts flock-graph flock-posts flock-reader; do
  quiet user add "$user" --no-password
done
quiet role add root
quiet user grant-role root root

for role in flock-accounts flock-graph flock-posts flock-reader; do
  quiet role add "$role"
  # The views' range [v2/a/, v2/u): accounts, graph, posts and the ticks.
  ctl role grant-permission "$role" read "${v2}a/" "${v2}u" >/dev/null
  quiet user grant-role "$role" "$role"
done

ctl role grant-permission flock-accounts readwrite --prefix "${v2}a/" >/dev/null
ctl role grant-permission flock-accounts readwrite --prefix "${v2}_s/" >/dev/null
ctl role grant-permission flock-accounts readwrite "${v2}t/a" >/dev/null
ctl role grant-permission flock-accounts readwrite --prefix "${v2}_r/a/" >/dev/null
ctl role grant-permission flock-graph readwrite --prefix "${v2}g/" >/dev/null
ctl role grant-permission flock-graph readwrite "${v2}t/g" >/dev/null
ctl role grant-permission flock-graph readwrite --prefix "${v2}_r/g/" >/dev/null
ctl role grant-permission flock-posts readwrite --prefix "${v2}p/" >/dev/null
ctl role grant-permission flock-posts readwrite "${v2}t/p" >/dev/null
ctl role grant-permission flock-posts readwrite --prefix "${v2}_r/p/" >/dev/null
ctl role grant-permission flock-reader read --prefix "${prefix}v1/" >/dev/null

ctl auth enable >/dev/null
for role in flock-accounts flock-graph flock-posts flock-reader; do ctl role get "$role"; done
echo "etcd auth is on; Flock's identities: flock-accounts flock-graph flock-posts flock-reader"
