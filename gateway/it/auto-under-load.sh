#!/usr/bin/env bash
# tier=auto under load (a benchmark: it prints figures, it is not a test). BGE-small text requests of about 130
# tokens, open loop (Poisson arrivals) at 1.5x and at 0.5x the exact tier's measured capacity, each request with a
# deadline of 2x the exact tier's p50; the same rate served by tier=auto and by tier=exact, one after the other on
# one gateway. Reports the share answered within the deadline, the share of traffic per tier and the mean quality
# served (the manifests' mean cosine; exact = 1).
#
# Needs the packaged jars (mvn -B -DskipTests package) and BGE-small tiers in a variant store, e.g.
#   java -jar compressor/target/tierserve-compressor.jar compress --method ziplm \
#       --model models/bge-small-en-v1.5/model.onnx --targets 1.5,2,3 --pooling cls --normalize --out variants
# Usage, from the project root: gateway/it/auto-under-load.sh STORE [SECONDS per run, default 30]
set -euo pipefail
store=$(cd "${1:?usage: $0 STORE [SECONDS]}" && pwd); seconds=${2:-30}
root=$(pwd); out=$(mktemp -d); port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
grpc=$(port); http=$(port)
( cd "$out" && exec java -Dquarkus.grpc.server.port="$grpc" -Dquarkus.http.port="$http" \
    -Dgateway.variants.store="$store" -Dgateway.compressor.mode=off \
    -jar "$root/gateway/server/target/quarkus-app/quarkus-run.jar" ) > "$out/gateway.log" 2>&1 &
gw=$!; trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT
client() { java -jar "$root/gateway/client/target/tierserve-client.jar" --target "127.0.0.1:$grpc" "$@"; }
for _ in $(seq 120); do client ready >/dev/null 2>&1 && break; sleep 1; done
# Texts: five README lines each (all of the READMEs; about 100 words, 130 tokens), real English the model has not been
# tuned on.
cat "$root/README.md" "$root"/*/README.md | grep -E '^[A-Za-z].{60,}' | paste -d' ' - - - - - > "$out/texts.txt"
load() { client load --model bge-small-en-v1.5-text --texts-file "$out/texts.txt" "$@" 2>"$out/load.err" || { cat "$out/load.err" >&2; return 1; }; }
echo "threads: gateway workers = cores ($(nproc)), 1 intra-op thread each; client: 1 sender thread (open loop)"
for tier in 1.5x 2x 3x exact; do load --concurrency 1 --duration 5 --warmup 2 --tier "$tier" >/dev/null; done
load --concurrency "$(nproc)" --duration "$seconds" --tier exact --json "$out/capacity.json" >/dev/null
read -r capacity p50 < <(python3 -c "import json;d=json.load(open('$out/capacity.json'));print(d['throughput_per_s'],d['latency_ms']['p50'])")
deadline=$(python3 -c "print(max(1, round(2 * $p50)))")
echo "exact capacity: $capacity requests/s at concurrency $(nproc), p50 $p50 ms; deadline per request: $deadline ms"
for share in 1.5 0.5; do
  rate=$(python3 -c "print(round($share * $capacity, 2))")
  for tier in auto exact; do
    load --rate "$rate" --duration "$seconds" --tier "$tier" --deadline-ms "$deadline" --json "$out/$tier-$share.json" >/dev/null
    python3 - "$out/$tier-$share.json" "$store" "$share" <<'PY'
import json, sys, glob, os
run = json.load(open(sys.argv[1])); store = sys.argv[2]
cos = {'exact': 1.0}
for f in glob.glob(os.path.join(store, 'bge-small-en-v1.5', '*', 'variant.json')):
    m = json.load(open(f)); t = m['targetSpeedup']
    cos['%gx' % t] = max(cos.get('%gx' % t, 0), m['quality']['encoder']['meanCosine'])
tiers = run['served_tiers']; ok = sum(tiers.values())
quality = sum(cos.get(t, float('nan')) * n for t, n in tiers.items()) / ok if ok else float('nan')
share = ', '.join('%s %.0f%%' % (t, 100.0 * n / ok) for t, n in sorted(tiers.items())) if ok else '-'
print('%-5s at %sx capacity (%.1f/s): within deadline %5.1f%%  p50 %7.1f ms  p99 %7.1f ms  statuses %s  tiers: %s  mean cosine served %.4f'
      % (run['tier'], sys.argv[3], run['throughput_per_s'], 100 * run['within_deadline_share'],
         run['latency_ms']['p50'], run['latency_ms']['p99'], run['statuses'], share, quality))
PY
  done
done
