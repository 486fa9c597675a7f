#!/usr/bin/env bash
# Why: a lent GPU machine is there for minutes, has no npm registry and often no Node; this one script prints
# what the project wants to know from it in one run: first the tuner (every kernel choice of a small and a paper
# step raced on this GPU: each bucket's candidates, the static choice and the winner, then the tuned step beside
# the static one, alternated), then the adapter, the matmul, nin and conv tables, and the training step (ms,
# img/s, dispatches/step, peak memory) for small and paper at batch 16 and 32; optionally the kernel profile and
# an old commit's step beside this tree's.
#
# Needs a prebuilt dist/bench.js (`node esbuild.config.mjs` here) and, on a bare box, .dev/ and .gl/ from
# /work/shared/tools/device-pack.sh (sourced below when node or the webgpu package is missing). No npm, git
# or esbuild is used. Settings (environment; defaults in brackets):
#   GPU_BENCH_TUNE [small:16,paper:16]  configs:batches the tuner races first ('' skips); GPU_BENCH_TUNE_ROUNDS [3]
#   GPU_BENCH_CONFIGS [small,paper]  GPU_BENCH_BATCHES [16,32]  GPU_BENCH_STEPS [5]  step configs, batches, steps
#   GPU_BENCH_SIZES [1024,2048,4096]  matmul sizes ('' skips matmul)
#   GPU_BENCH_NIN [1]  0 skips the nin table (the nin layers' thin matmuls, forward and backward)
#   GPU_BENCH_CONV [1]  0 skips the conv table; GPU_BENCH_CONV_FILTER selects conv cases by name
#   GPU_BENCH_PROFILE  a config:batch to profile (GPU time per kernel family), e.g. paper:16
#   GPU_BENCH_STARTUP [small:16]  config:batch whose cold start-up is timed without and with --prepare ('' skips)
#   GPU_BENCH_COMPARE  a stepper bundle of an older commit (bench -- step --compare REV --build-only prints
#                      its path under .bench-cache/; carry that folder): its step beside this tree's
#   GPU_BENCH_SECTION_S [240]  time limit of each section; a section that fails or runs out is reported, the rest run
# For a lent machine, here first: `node esbuild.config.mjs` (dist/bench.js, train.js), then
# `/work/shared/tools/device-pack.sh` (.dev/, .gl/; ~40 MB), optionally `node dist/bench.js step --compare main
# --build-only` (prints the bundle for GPU_BENCH_COMPARE); carry .dev .gl dist train.js .bench-cache and run
# `source .dev/device-prelude.sh && bench/gpu.sh` (defaults: a few minutes on a GPU; 600 s per command at most).
# Example on lavapipe (small settings): GPU_BENCH_TUNE=tiny:2 GPU_BENCH_CONFIGS=tiny GPU_BENCH_BATCHES=2 GPU_BENCH_STEPS=1 \
#   GPU_BENCH_SIZES=256 GPU_BENCH_CONV_FILTER='8x8' GPU_BENCH_STARTUP= bench/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1 || [ ! -d node_modules/webgpu ]; then
  if [ -f .dev/device-prelude.sh ]; then
    # shellcheck disable=SC1091
    source .dev/device-prelude.sh
  else
    echo "bench/gpu.sh: no node or no node_modules/webgpu, and no .dev/device-prelude.sh (run /work/shared/tools/device-pack.sh)" >&2
    exit 1
  fi
fi
if [ ! -f dist/bench.js ]; then
  echo "bench/gpu.sh: dist/bench.js is missing: build it before copying the tree (node esbuild.config.mjs)" >&2
  exit 1
fi

configs=${GPU_BENCH_CONFIGS:-small,paper}
batches=${GPU_BENCH_BATCHES:-16,32}
steps=${GPU_BENCH_STEPS:-5}
sizes=${GPU_BENCH_SIZES-1024,2048,4096}
limit=${GPU_BENCH_SECTION_S:-240}
failed=()

section() { # section TITLE COMMAND...: run with a time limit; report a failure and go on
  local title=$1; shift
  echo
  echo "==== $title ($(date -u +%H:%M:%S))"
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | grep -v 'artificially reduced'
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 124 ] && echo "!!!! $title: stopped after ${limit} s (GPU_BENCH_SECTION_S)" || echo "!!!! $title: exit status $rc"
    failed+=("$title")
  fi
  echo "---- $title: $((SECONDS - t0)) s"
}

echo "bench/gpu.sh on $(hostname) at $(date -u '+%Y-%m-%d %H:%M:%S') UTC; node $(node --version)"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f train.js ] && section 'adapter' node train.js --check-gpu
# The tuner first: what the static order (measured on lavapipe) leaves on the table on this GPU.
tune=${GPU_BENCH_TUNE-small:16,paper:16}
[ -n "$tune" ] && section 'tune (tuned kernel choices beside the static order; tuned step beside --tune off)' \
  node dist/bench.js tune --configs "$tune" --steps 2 --rounds "${GPU_BENCH_TUNE_ROUNDS:-3}"
section 'dispatch (CPU cost per dispatch)' node dist/bench.js dispatch
[ -n "$sizes" ] && section 'matmul' node dist/bench.js matmul --sizes "$sizes"
[ "${GPU_BENCH_NIN:-1}" != 0 ] && section 'nin (the thin matmuls of a step)' node dist/bench.js nin
[ "${GPU_BENCH_CONV:-1}" != 0 ] && section 'conv' node dist/bench.js conv ${GPU_BENCH_CONV_FILTER:+--filter "$GPU_BENCH_CONV_FILTER"}
for b in ${batches//,/ }; do
  section "step batch $b" node dist/bench.js step --configs "$configs" --batch "$b" --steps "$steps"
done
# Start-up with cold shader caches (NVIDIA's and Mesa's disk caches off), pipelines created on first use and
# then ahead, asynchronously (Engine.preparePipelines): does --prepare pay off on this device?
startup=${GPU_BENCH_STARTUP-small:16}
if [ -n "$startup" ]; then
  for p in '' --prepare; do
    section "start-up ${startup} ${p:-on first use}" env __GL_SHADER_DISK_CACHE=0 MESA_SHADER_CACHE_DISABLE=true \
      node dist/bench.js step --configs "${startup%%:*}" --batch "${startup##*:}" --steps 1 $p
  done
fi
if [ -n "${GPU_BENCH_PROFILE:-}" ]; then
  section "profile $GPU_BENCH_PROFILE" node dist/bench.js step --configs "${GPU_BENCH_PROFILE%%:*}" --batch "${GPU_BENCH_PROFILE##*:}" --steps "$steps" --profile
fi
if [ -n "${GPU_BENCH_COMPARE:-}" ]; then
  for b in ${batches//,/ }; do
    section "compare batch $b" node dist/bench.js step --configs "$configs" --batch "$b" --steps 2 --rounds 5 --compare "$GPU_BENCH_COMPARE"
  done
fi
echo
if [ ${#failed[@]} -eq 0 ]; then echo "bench/gpu.sh: all sections done"; else echo "bench/gpu.sh: failed or stopped: ${failed[*]}"; exit 1; fi
