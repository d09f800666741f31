#!/usr/bin/env bash
# pp512 and tg128 of each model family's real shape, side by side with llama.cpp on the same files (README "Speed").
# Interleaves llama-bench and `sharpinfer bench` file by file and round by round, so the drift of a shared machine
# hits both alike. Needs a quiet machine; prints one markdown row per file and round.
#   usage: bench/scripts/families-vs-llama.sh DIR [ROUNDS=2]
#   DIR holds the files, made with (vocabulary: Llama 3's 128,256 tokens; Phi-3's own 32,064 for phi-3-mini):
#     for s in qwen2.5-0.5b qwen3-0.6b gemma-3-1b gemma-2-2b phi-3-mini; do for t in Q4_K_M Q8_0; do
#       sharpinfer synth --shape $s --type $t -o DIR/$s-$t.gguf --vocab-from ../shared/vocab/ggml-vocab-llama-bpe.gguf; done; done
#   llama.cpp: bash ../shared/tools/get-llama-cpp.sh (installs /tmp/llama-cpp/llama-bench); LLAMA_BENCH overrides.
#   ours: dotnet publish src/SharpInfer.Cli -c Release -o out/cli; SHARPINFER overrides the command.
set -euo pipefail
DIR=${1:?usage: $0 DIR [ROUNDS]}
ROUNDS=${2:-2}
LLAMA_BENCH=${LLAMA_BENCH:-/tmp/llama-cpp/llama-bench}
SHARPINFER=${SHARPINFER:-dotnet out/cli/SharpInfer.Cli.dll}
THREADS=${THREADS:-2}
REPS=${REPS:-3}

rates() { python3 -c 'import json,sys; r=json.load(sys.stdin); print(" ".join(str(round(x["avg_ts"],1)) for x in r))'; }

echo "| file | round | llama.cpp pp512 | SharpInfer pp512 | ratio | llama.cpp tg128 | SharpInfer tg128 | ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for round in $(seq 1 "$ROUNDS"); do
  for f in "$DIR"/*.gguf; do
    read -r lp lt < <("$LLAMA_BENCH" -m "$f" -p 512 -n 128 -r "$REPS" -t "$THREADS" -o json 2>/dev/null | rates)
    read -r sp st < <($SHARPINFER bench -m "$f" -p 512 -n 128 -r "$REPS" -t "$THREADS" -o json 2>/dev/null | rates)
    python3 -c "import sys; lp,sp,lt,st=map(float,sys.argv[1:]); print(f'| $(basename "$f" .gguf) | $round | {lp} | {sp} | {sp/lp:.2f}× | {lt} | {st} | {st/lt:.2f}× |')" "$lp" "$sp" "$lt" "$st"
  done
done
