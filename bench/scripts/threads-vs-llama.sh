#!/usr/bin/env bash
# Decode speed with more threads than cores, and beside a busy neighbour process, side by side with llama.cpp
# (docs/reliability.md, "Threads"). Interleaves llama-bench and `sharpinfer bench` run by run on the same file, so
# minute-to-minute drift of a shared machine hits both alike. Needs a quiet machine; prints one line per run.
#   usage: bench/scripts/threads-vs-llama.sh MODEL.gguf [ROUNDS=3] [THREADS="2 3 4"]
#   llama.cpp: bash ../shared/tools/get-llama-cpp.sh (installs /tmp/llama-cpp/llama-bench); LLAMA_BENCH overrides.
#   ours: dotnet publish src/SharpInfer.Cli -c Release -o out/cli; SHARPINFER overrides the command.
set -euo pipefail
MODEL=${1:?usage: $0 MODEL.gguf [ROUNDS] [THREADS]}
ROUNDS=${2:-3}
THREADS=${3:-2 3 4}
LLAMA_BENCH=${LLAMA_BENCH:-/tmp/llama-cpp/llama-bench}
SHARPINFER=${SHARPINFER:-dotnet out/cli/SharpInfer.Cli.dll}
N=${N:-32}

tg_llama() { "$LLAMA_BENCH" -m "$MODEL" -p 0 -n "$N" -r 2 -t "$1" -o json 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)[0]["avg_ts"], 1))'; }
tg_ours() { $SHARPINFER bench -m "$MODEL" -p 0 -n "$N" -r 2 -t "$1" -o json 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)[0]["avg_ts"], 1))'; }

busy_pid=
start_neighbour() { sh -c 'while :; do :; done' & busy_pid=$!; }
stop_neighbour() { if [ -n "$busy_pid" ]; then kill "$busy_pid"; wait "$busy_pid" 2>/dev/null || true; busy_pid=; fi; }
trap stop_neighbour EXIT

echo "cores this process may use: $(nproc); model: $MODEL; tg$N, -r 2 per run"
for round in $(seq 1 "$ROUNDS"); do
  for neighbour in none busy; do
    [ "$neighbour" = busy ] && start_neighbour
    for t in $THREADS; do
      a=$(tg_llama "$t"); b=$(tg_ours "$t")
      echo "round $round neighbour=$neighbour -t $t: llama.cpp $a t/s, SharpInfer $b t/s"
    done
    stop_neighbour
  done
done
