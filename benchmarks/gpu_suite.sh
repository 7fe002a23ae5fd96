#!/usr/bin/env bash
# The GPU figures of BENCHMARKS.md in one command, each step under its own time cap so that one
# slow step cannot starve the rest:
#
#     bash benchmarks/gpu_suite.sh OUT_DIR
#
# It can be started from any directory (it runs from the repository root; OUT_DIR is taken
# relative to where it was started). Writes OUT_DIR/<step>.txt (each step's output),
# OUT_DIR/ant_metrics.jsonl and OUT_DIR/pixel_metrics.jsonl (the long runs' evaluations).
# STEPS picks which steps run (default: "smoke throughput ant_10m seeds offline env_sps";
# "updates", "command_buffers", "pixels", "pixel_train" and "learning" are extra).
# Each step's cap in seconds can be changed through the environment:
#   CAP_SMOKE (smoke, 90)                 CAP_THROUGHPUT (throughput, 170)
#   CAP_UPDATES (updates, 90)             CAP_COMMAND_BUFFERS (command_buffers, 240)
#   CAP_ANT (ant_10m, 330)                CAP_SEEDS (seeds, 90)
#   CAP_OFFLINE (offline, 45)             CAP_ENV_SPS (env_sps, 60)
#   CAP_PIXELS (pixels, 120)              CAP_PIXEL_TRAIN (pixel_train, 240)
#   CAP_LEARN (each learning_<env> run of "learning", 240)
# What each step measures can be narrowed too: THROUGHPUT_ENVS,
# THROUGHPUT_NUM_ENVS, UPDATES_ENVS, UPDATES_NUM_ENVS, UPDATE_SETTINGS, COMMAND_BUFFER_ENVS,
# COMMAND_BUFFER_NUM_ENVS, SEED_COUNTS, ENV_SPS_ENVS, ENV_SPS_NUM_ENVS, ENV_SPS_PHYSICS ("jax warp"
# where MuJoCo Warp is installed), PIXEL_STEPS, LEARN_ENVS, LEARN_STEPS, ANT_EVALS, and
# ANT_ENV_OPTIONS changes the ant of the 10M-step run.
set -u
out=${1:?usage: gpu_suite.sh OUT_DIR}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)  # absolute: the steps run from the repository root
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
export PYTHONUNBUFFERED=1

steps=" ${STEPS:-smoke throughput ant_10m seeds offline env_sps} "

step() {  # step NAME CAP COMMAND...: capped_run, if STEPS names NAME
  if [[ $steps == *" $1 "* ]]; then capped_run "$@"; fi
}

capped_run() {  # capped_run NAME CAP COMMAND...: run COMMAND under CAP seconds, output to NAME.txt
  local name=$1 cap=$2
  shift 2
  echo "== $name (cap ${cap}s): $*"
  local start=$SECONDS
  timeout --signal=TERM --kill-after=10 "$cap" "$@" >"$out/$name.txt" 2>&1
  local status=$?
  echo "== $name exit $status after $((SECONDS - start))s"
  grep -v -E "^(W|I)[0-9]{4} |^\s*$" "$out/$name.txt" | tail -n 25
  return $status
}

# Run directories of this invocation only: train.py refuses an existing one, and a fixed path
# would leave an earlier invocation's metrics to be copied as this one's.
runs=$(mktemp -d /tmp/gpu_suite_runs.XXXXXX)

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import jax, flax, optax, mujoco; print('jax', jax.__version__, jax.devices(), \
'flax', flax.__version__, 'mujoco', mujoco.__version__)" || exit 1

# A 30-second end-to-end smoke run first: if the stack is broken, stop before spending the budget.
step smoke "${CAP_SMOKE:-90}" python3 train.py --env point_open --total-env-steps 20000 \
  --num-evals 1 --no-progress --run-dir "$runs/smoke" || exit 1

step throughput "${CAP_THROUGHPUT:-170}" python3 benchmarks/throughput.py \
  --envs ${THROUGHPUT_ENVS:-point_open ant reacher} --num-envs ${THROUGHPUT_NUM_ENVS:-256 1024 4096} \
  --iterations 8 --prefill-steps 8192 \
  --out "$out/throughput.json"

# Fewer, larger gradient steps: each setting RATIO:BATCH samples RATIO*BATCH transitions per env step
# (the default 0.0625:256 and 0.015625:1024 both sample 16).
step updates "${CAP_UPDATES:-90}" python3 benchmarks/throughput.py \
  --envs ${UPDATES_ENVS:-ant} --num-envs ${UPDATES_NUM_ENVS:-1024} \
  --updates ${UPDATE_SETTINGS:-0.0625:256 0.015625:1024} --iterations 8 --prefill-steps 8192 \
  --out "$out/updates.json"

# Gradient steps at batch 256 are bound by kernel launches on a GPU (about 0.15 ms each). XLA can
# record a whole while loop, the scans of env steps and gradient steps included, as one CUDA graph
# (command buffer); this times the default against that, in the same call. COMMAND_BUFFER_ENVS and
# COMMAND_BUFFER_NUM_ENVS narrow it.
command_buffers() {
  local sizes=(--envs ${COMMAND_BUFFER_ENVS:-ant reacher} --num-envs ${COMMAND_BUFFER_NUM_ENVS:-256 1024}
    --iterations 8 --prefill-steps 8192)
  python3 benchmarks/throughput.py "${sizes[@]}" --out "$out/command_buffers_default.json"
  XLA_FLAGS="${XLA_FLAGS:-} --xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL" \
    python3 benchmarks/throughput.py "${sizes[@]}" --out "$out/command_buffers_while.json"
}
export -f command_buffers  # timeout runs commands, not shell functions: run it in a bash
export out
step command_buffers "${CAP_COMMAND_BUFFERS:-240}" bash -c command_buffers

# JaxGCRL's reference: 10M ant env steps in about 10 minutes on a V100.
# ANT_ENV_OPTIONS (e.g. "motor_gear=60") changes the ant through --env-options.
step ant_10m "${CAP_ANT:-330}" python3 train.py --config ant --no-progress \
  --no-checkpoint-buffer --checkpoint-every 1000000 --num-evals "${ANT_EVALS:-10}" \
  --run-dir "$runs/ant_10m" \
  ${ANT_ENV_OPTIONS:+--env-options $ANT_ENV_OPTIONS}
cp "$runs/ant_10m/metrics.jsonl" "$out/ant_metrics.jsonl" 2>/dev/null

step seeds "${CAP_SEEDS:-90}" python3 benchmarks/seeds.py --env point_open \
  --seeds ${SEED_COUNTS:-1 8 16 4} --total-env-steps 300000 --num-envs 256

step offline "${CAP_OFFLINE:-45}" python3 benchmarks/offline_updates.py --batch-sizes 1024 \
  --steps 2000

step env_sps "${CAP_ENV_SPS:-60}" python3 benchmarks/env_sps_mjx.py \
  --envs ${ENV_SPS_ENVS:-reacher pusher_easy half_cheetah humanoid ant_u_maze humanoid_u_maze} \
  --num-envs ${ENV_SPS_NUM_ENVS:-4096} --repeats 2 --physics ${ENV_SPS_PHYSICS:-jax}

# Pixel training (64x64 images, a CNN per network; lax.conv on the GPU), not in the default set.
step pixels "${CAP_PIXELS:-120}" python3 benchmarks/pixel_convolution.py --num-envs 256 \
  --batch-size 256 --iterations 4

# Pixel learning: the open arena seen as 64x64 images, the preset's settings, evaluated 8 times.
step pixel_train "${CAP_PIXEL_TRAIN:-240}" python3 train.py --config point_open_pixels \
  --total-env-steps "${PIXEL_STEPS:-300000}" --num-evals 8 --no-progress --run-dir "$runs/pixel_train"
cp "$runs/pixel_train/metrics.jsonl" "$out/pixel_metrics.jsonl" 2>/dev/null

# Learning curves of the env presets (success against env steps), one capped run per preset, each
# evaluated 10 times; a run stopped by its cap keeps the evaluations it wrote. LEARN_STEPS
# shortens every preset's budget so that the runs end within their caps.
if [[ $steps == *" learning "* ]]; then
  for env in ${LEARN_ENVS:-reacher pusher_easy arm_reach}; do
    capped_run "learning_$env" "${CAP_LEARN:-240}" python3 train.py --config "$env" --num-evals 10 \
      --no-progress --no-checkpoint-buffer --run-dir "$runs/learning_$env" \
      ${LEARN_STEPS:+--total-env-steps $LEARN_STEPS}
    cp "$runs/learning_$env/metrics.jsonl" "$out/learning_${env}_metrics.jsonl" 2>/dev/null
  done
fi
