#!/bin/bash
# Starts etcd + kts on loopback. Usage: W=<build dir> D=<run dir> ./start.sh   (stop: D=<run dir> ./stop.sh)
# Writes $D/pki (CA, serving cert for 127.0.0.1), $D/tokens.csv and $D/kubeconfig (bearer token, system:masters).
set -euo pipefail
W=${W:?}; D=${D:?}; PORT=${PORT:-16443}; EPORT=${EPORT:-23790}
rm -rf "$D"; mkdir -p "$D"/pki "$D"/logs
cd "$D"/pki
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=kts-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout serving.key -out serving.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out serving.crt -days 2 -extfile san.ext 2>/dev/null
TOKEN=$(openssl rand -hex 16)
echo "$TOKEN,exporter,uid-1,\"system:masters\"" > "$D"/tokens.csv
# more users, one "token,user,uid,\"group\"" line each (e.g. one outside system:masters, to see a 403)
[ -n "${EXTRA_TOKENS:-}" ] && printf '%s\n' "$EXTRA_TOKENS" >> "$D"/tokens.csv
printf 'apiVersion: v1\nkind: Config\nclusters: [{name: d, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: d, user: {}}]\ncontexts: [{name: d, context: {cluster: d, user: d}}]\ncurrent-context: d\n' > "$D"/dummy.kubeconfig
cat > "$D"/kubeconfig <<KC
apiVersion: v1
kind: Config
clusters: [{name: kts, cluster: {server: "https://127.0.0.1:$PORT", certificate-authority: "$D/pki/ca.crt"}}]
users: [{name: exporter, user: {token: "$TOKEN"}}]
contexts: [{name: kts, context: {cluster: kts, user: exporter}}]
current-context: kts
KC
setsid "$W"/etcd --name kts --data-dir "$D"/etcd-data \
  --listen-client-urls http://127.0.0.1:$EPORT --advertise-client-urls http://127.0.0.1:$EPORT \
  --listen-peer-urls http://127.0.0.1:$((EPORT+10)) --initial-advertise-peer-urls http://127.0.0.1:$((EPORT+10)) \
  --initial-cluster kts=http://127.0.0.1:$((EPORT+10)) --listen-metrics-urls http://127.0.0.1:$((EPORT+20)) \
  > "$D"/logs/etcd.log 2>&1 < /dev/null & echo $! > "$D"/etcd.pid
for i in $(seq 300); do ETCDCTL_API=3 "$W"/etcdctl --endpoints=http://127.0.0.1:$EPORT endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
KTS_TOKEN_FILE="$D"/tokens.csv setsid "$W"/kts --etcd-servers=http://127.0.0.1:$EPORT \
  --bind-address=127.0.0.1 --secure-port=$PORT \
  --tls-cert-file="$D"/pki/serving.crt --tls-private-key-file="$D"/pki/serving.key --client-ca-file="$D"/pki/ca.crt \
  --authentication-kubeconfig="$D"/dummy.kubeconfig --authentication-skip-lookup \
  --authorization-kubeconfig="$D"/dummy.kubeconfig --kubeconfig="$D"/dummy.kubeconfig \
  --disable-admission-plugins=NamespaceLifecycle,MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook \
  --enable-priority-and-fairness=false ${KTS_ARGS:-} > "$D"/logs/kts.log 2>&1 < /dev/null & echo $! > "$D"/kts.pid
for i in $(seq 600); do
  kill -0 "$(cat "$D"/kts.pid)" 2>/dev/null || { echo "kts died:"; tail -5 "$D"/logs/kts.log; exit 1; }
  curl -sf --cacert "$D"/pki/ca.crt "https://127.0.0.1:$PORT/readyz?exclude=informer-sync" >/dev/null 2>&1 && break; sleep 0.1
done
echo "kts ready: KUBECONFIG=$D/kubeconfig"
