#!/usr/bin/env bash
# Dynamic batching (a benchmark: it prints figures, it is not a test). One packaged gateway serves BGE-small text
# twice over the same session: bge-small-en-v1.5-text (the embedded default, with `dynamic_batching { }`: no added
# wait, queued requests of similar token length share a run) and bge-text-unbatched (the same without it). Closed loop
# at concurrency 16 with short texts (about 8-24 tokens) and with about 128-token texts, then concurrency 1 (batching
# enabled but idle); the two models alternate, ROUNDS times, and the medians over rounds are printed.
#
# Needs the packaged jars (mvn -B -DskipTests package).
# Usage, from the project root: gateway/it/batching-benchmark.sh [SECONDS per run, default 20] [ROUNDS, default 3]
set -euo pipefail
seconds=${1:-20}; rounds=${2:-3}
root=$(pwd); out=$(mktemp -d); port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
grpc=$(port); http=$(port)
mkdir -p "$out/models/bge-text-unbatched"
cat > "$out/models/bge-text-unbatched/config.pbtxt" <<'PBTXT'
backend: "text-embedding"
parameters { key: "base_model" value { string_value: "bge-small-en-v1.5" } }
parameters { key: "pooling" value { string_value: "cls" } }
PBTXT
( cd "$out" && exec java -Dquarkus.grpc.server.port="$grpc" -Dquarkus.http.port="$http" -Dgateway.compressor.mode=off \
    -jar "$root/gateway/server/target/quarkus-app/quarkus-run.jar" ) > "$out/gateway.log" 2>&1 &
gw=$!; trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT
client() { java -jar "$root/gateway/client/target/tierserve-client.jar" --target "127.0.0.1:$grpc" "$@"; }
for _ in $(seq 120); do client ready >/dev/null 2>&1 && break; sleep 1; done
# Texts: README prose (all of the READMEs). Short: 5 to 16 words (about 8-24 tokens); long: five lines (about 100
# words, 130 tokens).
cat "$root/README.md" "$root"/*/README.md > "$out/prose.md"
python3 - "$out/prose.md" "$out" <<'PY'
import random, re, sys
words = re.findall(r"[A-Za-z][a-z]+", open(sys.argv[1]).read())
rng = random.Random(1)
with open(sys.argv[2] + "/short.txt", "w") as f:
    for _ in range(500):
        start = rng.randrange(len(words) - 20)
        f.write(" ".join(words[start:start + rng.randint(5, 16)]) + "\n")
PY
grep -E '^[A-Za-z].{60,}' "$out/prose.md" | paste -d' ' - - - - - > "$out/long.txt"
run() { # model texts concurrency -> "throughput p50 p99"
  client load --model "$1" --texts-file "$out/$2.txt" --concurrency "$3" --duration "$seconds" --warmup 3 \
      --json "$out/run.json" >/dev/null 2>"$out/load.err" || { cat "$out/load.err" >&2; return 1; }
  python3 -c "import json;d=json.load(open('$out/run.json'));print(d['throughput_per_s'],d['latency_ms']['p50'],d['latency_ms']['p99'])"
}
echo "threads: gateway workers = cores ($(nproc)), 1 intra-op thread each; client: 16 or 1 requests in flight"
for texts in short long; do for model in bge-text-unbatched bge-small-en-v1.5-text; do
  client load --model "$model" --texts-file "$out/$texts.txt" --concurrency 16 --duration 10 --warmup 5 >/dev/null 2>&1
done; done
: > "$out/results"
for round in $(seq "$rounds"); do
  for case in "short 16" "long 16" "short 1"; do
    set -- $case
    for model in bge-text-unbatched bge-small-en-v1.5-text; do
      echo "$1 $2 $model $(run "$model" "$1" "$2")" | tee -a "$out/results" >&2
    done
  done
done
python3 - "$out/results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    texts, conc, model, tput, p50, p99 = line.split()
    runs[(texts, conc, model)].append((float(tput), float(p50), float(p99)))
def med(key, i): return statistics.median(r[i] for r in runs[key])
for texts, conc in (("short", "16"), ("long", "16"), ("short", "1")):
    u, b = runs[(texts, conc, "bge-text-unbatched")], runs[(texts, conc, "bge-small-en-v1.5-text")]
    gain = statistics.median(y[0] / x[0] for x, y in zip(u, b))     # paired: the two runs of one round
    p50 = statistics.median(y[1] / x[1] for x, y in zip(u, b))
    m = lambda rs, i: statistics.median(r[i] for r in rs)
    print("%-5s texts, concurrency %2s: unbatched %6.1f/s (p50 %6.1f ms, p99 %6.1f ms)  batched %6.1f/s (p50 %6.1f ms, p99 %6.1f ms)  throughput x%.2f, p50 ratio %.3f (medians over %d rounds; ratios per round)"
          % (texts, conc, m(u, 0), m(u, 1), m(u, 2), m(b, 0), m(b, 1), m(b, 2), gain, p50, len(u)))
PY
