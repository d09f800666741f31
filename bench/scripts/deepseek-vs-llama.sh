#!/usr/bin/env bash
# DeepSeek-V2-Lite (latent attention, mixture of experts) side by side with llama.cpp on the same file
# (docs/performance.md, "DeepSeek-V2-Lite"): pp512 and tg128, then tg at depth 4096, llama-bench and `sharpinfer bench`
# interleaved, ours in both latent-attention modes. `bench`'s GB/s is active weights per second (everything but the
# routed experts, plus the experts each step chose). Needs a quiet machine; prints one markdown row per run.
#   usage: bench/scripts/deepseek-vs-llama.sh FILE.gguf [ROUNDS=1]
#   FILE: sharpinfer synth --shape deepseek-v2-lite --type Q4_K_M -o FILE (about 10 GB; split attn_k_b/attn_v_b
#   layout, as llama.cpp's converter writes it, so llama.cpp caches latents too)
#   llama.cpp: bash ../shared/tools/get-llama-cpp.sh (installs /tmp/llama-cpp/llama-bench); LLAMA_BENCH overrides.
#   ours: dotnet publish src/SharpInfer.Cli -c Release -o out/cli; SHARPINFER overrides the command.
set -euo pipefail
FILE=${1:?usage: $0 FILE.gguf [ROUNDS]}
ROUNDS=${2:-1}
LLAMA_BENCH=${LLAMA_BENCH:-/tmp/llama-cpp/llama-bench}
SHARPINFER=${SHARPINFER:-dotnet out/cli/SharpInfer.Cli.dll}
THREADS=${THREADS:-2}

fields() { python3 -c 'import json,sys; print(" ".join("%.2f/%.1f" % (x["avg_ts"], x.get("gbps") or 0) for x in json.load(sys.stdin)))'; }

echo "| round | engine | pp512 | tg128 (t/s / GB/s active) | tg32 at depth 4096 |"
echo "|---:|---|---:|---:|---:|"
for round in $(seq 1 "$ROUNDS"); do
  read -r lp lt < <("$LLAMA_BENCH" -m "$FILE" -p 512 -n 128 -r 2 -t "$THREADS" -o json 2>/dev/null | fields)
  ld=$("$LLAMA_BENCH" -m "$FILE" -p 0 -n 32 -d 4096 -r 1 -t "$THREADS" -o json 2>/dev/null | fields)
  echo "| $round | llama.cpp | ${lp%/*} | ${lt%/*} | ${ld%/*} |"
  for mla in absorb naive; do
    read -r sp st < <($SHARPINFER bench -m "$FILE" -p 512 -n 128 -r 2 -t "$THREADS" --mla $mla -o json 2>/dev/null | fields)
    sd=$($SHARPINFER bench -m "$FILE" -p 0 -n 32 --depth 4096 -r 1 -t "$THREADS" --mla $mla -o json 2>/dev/null | fields)
    echo "| $round | SharpInfer --mla $mla | ${sp%/*} | $st | ${sd%/*} |"
  done
done
