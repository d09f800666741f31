#!/usr/bin/env bash
# The server under concurrent streaming load, side by side with llama.cpp's llama-server on the same file
# (docs/server.md, "Measuring against llama-server"). Starts one server at a time on the file, waits for /health,
# runs serve-bench at every client count, stops it, then the other; ROUNDS alternate which goes first.
# Needs a quiet machine; prints serve-bench's tables.
#   usage: bench/scripts/serve-vs-llama.sh MODEL.gguf [ROUNDS=2] [CLIENTS=1,4,8,16]
#   llama.cpp: bash ../shared/tools/get-llama-cpp.sh (installs /tmp/llama-cpp/llama-server); LLAMA_SERVER overrides.
#   ours: dotnet publish src/SharpInfer.Cli -c Release -o out/cli; SHARPINFER overrides the command.
set -euo pipefail
MODEL=${1:?usage: $0 MODEL.gguf [ROUNDS] [CLIENTS]}
ROUNDS=${2:-2}
CLIENTS=${3:-1,4,8,16}
LLAMA_SERVER=${LLAMA_SERVER:-/tmp/llama-cpp/llama-server}
SHARPINFER=${SHARPINFER:-dotnet out/cli/SharpInfer.Cli.dll}
THREADS=${THREADS:-2}
CTX=${CTX:-8192}
PORT=${PORT:-8090}
LOAD="-p ${PROMPT:-128} -n ${GEN:-128} -r ${REQUESTS:-4}"

server_pid=
stop_server() { if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=; fi; }
trap stop_server EXIT

wait_ready() {
  for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "the server did not become ready" >&2; return 1
}

measure() {
  local name=$1; shift
  "$@" >/tmp/serve-vs-llama-$name.log 2>&1 &
  server_pid=$!
  wait_ready
  echo "### $name (round $round)"
  $SHARPINFER serve-bench --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" $LOAD
  stop_server
}

for round in $(seq 1 "$ROUNDS"); do
  ours=(measure SharpInfer $SHARPINFER serve -m "$MODEL" -t "$THREADS" -c "$CTX" --parallel 16 --port "$PORT")
  theirs=(measure llama-server "$LLAMA_SERVER" -m "$MODEL" -t "$THREADS" -c "$CTX" -np 16 --port "$PORT")
  if [ $((round % 2)) -eq 1 ]; then "${ours[@]}"; "${theirs[@]}"; else "${theirs[@]}"; "${ours[@]}"; fi
done
