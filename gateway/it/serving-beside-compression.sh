#!/usr/bin/env bash
# Serving beside compression (a benchmark: it prints figures, it is not a test). The packaged gateway with no
# configuration (BGE-small, the local compressor), in a fresh directory:
#   1. the first request for tier 2x, with no other load: how long until 2x is served, from which variant, and its
#      quality (the manifest's mean cosine to the parent on held-out texts);
#   2. text requests at half of exact's measured capacity (open loop, Poisson arrivals) for SECONDS with no job, then
#      for SECONDS while a job builds tier 3x: latency percentiles of each window and their ratio.
#
# Needs the packaged jars (mvn -B -DskipTests package). Usage, from the project root:
#   gateway/it/serving-beside-compression.sh [SECONDS per window, default 60]
set -euo pipefail
seconds=${1:-60}
root=$(pwd); out=$(mktemp -d); port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
grpc=$(port); http=$(port)
( cd "$out" && exec java -Dquarkus.grpc.server.port="$grpc" -Dquarkus.http.port="$http" \
    -jar "$root/gateway/server/target/quarkus-app/quarkus-run.jar" ) > "$out/gateway.log" 2>&1 &
gw=$!; trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT
client() { java -jar "$root/gateway/client/target/tierserve-client.jar" --target "127.0.0.1:$grpc" "$@"; }
for _ in $(seq 120); do client ready >/dev/null 2>&1 && break; sleep 1; done
model=bge-small-en-v1.5-text
echo "machine: $(nproc) cores; gateway workers = cores, 1 intra-op thread each; local compressor at nice 19"

# 1. Time to the 2x tier, nothing else running.
start=$(date +%s.%N)
client infer --model "$model" --text hi --tier 2x > /dev/null
until served=$(client infer --model "$model" --text hi --tier 2x --strict-tier 2>/dev/null | grep 'served tier 2x'); do
  sleep 2
done
elapsed=$(python3 -c "print(round($(date +%s.%N) - $start))")
variant=$(sed -E 's/.*variant ([^,]+),.*/\1/' <<< "$served")
python3 - "$out/variants/bge-small-en-v1.5/$variant/variant.json" "$elapsed" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print('2x served after %s s: %s (%s), measured %.2fx, mean cosine %.4f on %d held-out texts'
      % (sys.argv[2], m['id'], m['method'], m['measuredSpeedup'], m['quality']['encoder']['meanCosine'],
         m['quality']['testTexts']))
PY

# 2. Latency at half of exact's capacity, without and with a job.
# Texts: five README lines each (about 100 words, 130 tokens), real English the model has not been tuned on.
cat "$root/README.md" "$root"/*/README.md | grep -E '^[A-Za-z].{60,}' | paste -d' ' - - - - - > "$out/texts.txt"
load() { client load --model "$model" --texts-file "$out/texts.txt" "$@" 2>"$out/load.err" || { cat "$out/load.err" >&2; return 1; }; }
load --concurrency 1 --duration 5 --warmup 2 --tier exact > /dev/null
load --concurrency "$(nproc)" --duration 20 --tier exact --json "$out/capacity.json" > /dev/null
capacity=$(python3 -c "import json;print(json.load(open('$out/capacity.json'))['throughput_per_s'])")
rate=$(python3 -c "print(round($capacity / 2, 2))")
echo "exact capacity: $capacity requests/s at concurrency $(nproc); load: $rate requests/s, open loop, tier exact"
load --rate "$rate" --duration "$seconds" --tier exact --json "$out/idle.json" > /dev/null
client infer --model "$model" --text hi --tier 3x > /dev/null
sleep 5 # the job is past its start-up
load --rate "$rate" --duration "$seconds" --tier exact --json "$out/job.json" > /dev/null
if client infer --model "$model" --text hi --tier 3x --strict-tier > /dev/null 2>&1; then
  echo "warning: the 3x job ended within the window; the 'job' row is partly without one" >&2
fi
grep -o 'job job-[^:]*: [^|]*' "$out/gateway.log" | tail -1 | cut -c1-160
python3 - "$out/idle.json" "$out/job.json" <<'PY'
import json, sys
idle, job = (json.load(open(f)) for f in sys.argv[1:3])
for name, run in (('no job', idle), ('3x job running', job)):
    l = run['latency_ms']
    print('%-15s %6.1f req/s  p50 %6.1f ms  p90 %6.1f ms  p99 %6.1f ms  statuses %s'
          % (name, run['throughput_per_s'], l['p50'], l['p90'], l['p99'], run['statuses']))
print('during a job / without: p50 %.2fx, p99 %.2fx'
      % (job['latency_ms']['p50'] / idle['latency_ms']['p50'], job['latency_ms']['p99'] / idle['latency_ms']['p99']))
PY
