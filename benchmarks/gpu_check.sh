#!/usr/bin/env bash
# The one-command GPU check: on a machine with an NVIDIA GPU, prove minitl's CuPy path.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]          (default OUT_DIR: gpu_check/)
#
# 1. installs what is missing (CuPy for the driver's CUDA major, PyTorch, pytest), if pip can reach an index
#    (GPU_CHECK_NO_INSTALL=1: only say what is missing);
# 2. runs the test suite on CuPy: every test of the `device` fixture's `cuda` value and of the `cuda` fixture
#    (ops, layers, optimizers, loop, loader; the conv kernels of minitl/functional/conv_cuda.py included);
# 3. counts the float64 gradchecks among them (every differentiable op is gradchecked on the device);
# 4. runs `benchmarks/run.py --device cuda` against PyTorch CUDA (TF32 off in PyTorch, as in CuPy);
# 5. writes OUT_DIR/gpu_check.json (every stage, its exit status and seconds) and prints one table.
# Each stage has its own time limit (install 60 s, tests 210 s, benchmark 180 s): under 8 minutes in all.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-gpu_check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=python3
STAGES=()   # "name|rc|seconds|note"

stage() {   # stage NAME LIMIT_SECONDS COMMAND...: run with a time limit, log to OUT/NAME.log, record the result
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  echo "== $name (limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 5 "$OUT/$name.log"
  STAGES+=("$name|$rc|$((SECONDS - start))|")
  return $rc
}

have() { $PY -c "import $1" >/dev/null 2>&1; }

# ---- 1. what is missing
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU answers (nvidia-smi); run this on a GPU machine. The CPU suite and the" >&2
  echo "strict CuPy stand-in (python3 -m pytest tests -k standin) cover the GPU path without one." >&2
  exit 2
fi
CUDA_MAJOR=$(nvidia-smi | sed -n 's/.*CUDA Version: \([0-9]*\).*/\1/p' | head -n 1)
MISSING=()
have cupy || MISSING+=("cupy-cuda${CUDA_MAJOR:-12}x")
have pytest || MISSING+=(pytest)
have hypothesis || MISSING+=(hypothesis)
have torch || MISSING+=(torch)
have PIL || MISSING+=(pillow)
if [ ${#MISSING[@]} -gt 0 ]; then
  if [ "${GPU_CHECK_NO_INSTALL:-0}" = 1 ]; then   # only say what is missing
    echo "missing (not installed): ${MISSING[*]}"
  else   # one pip call, time-limited: a machine without an index fails fast and the check goes on
    echo "installing ${MISSING[*]}"
    timeout 60 $PY -m pip install -q "${MISSING[@]}" || echo "note: could not install ${MISSING[*]} (no index?)"
  fi
fi
$PY - <<'EOF' 2>&1 | tee "$OUT/versions.txt"
import platform, numpy
print("python", platform.python_version(), "numpy", numpy.__version__)
try:
    import cupy
    print("cupy", cupy.__version__, "device:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
except Exception as exc:
    print("cupy unusable:", exc)
try:
    import torch
    print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())
except Exception as exc:
    print("torch unusable:", exc)
EOF
if ! $PY -c "import minitl, sys; sys.exit(0 if minitl.is_gpu_available() else 1)"; then
  echo "gpu_check: minitl does not see the GPU through CuPy (see $OUT/versions.txt)" >&2
  exit 3
fi

# ---- 2 and 3. the tests on CuPy (the first calls JIT-compile CuPy kernels: the limit allows for a cold cache)
stage tests_cuda 210 $PY -m pytest tests -p no:cacheprovider -k "cuda and not standin" \
  --junitxml="$OUT/tests_cuda.xml"
SUMMARY=$(grep -E "[0-9]+ (passed|failed)" "$OUT/tests_cuda.log" | tail -n 1 | tr -d '=|')
STAGES[-1]="${STAGES[-1]}${SUMMARY# }"
GRADCHECKS=$($PY - "$OUT/tests_cuda.xml" <<'EOF'
import sys, xml.etree.ElementTree as tree
cases = tree.parse(sys.argv[1]).getroot().iter("testcase")
names = [(c.get("name"), [e.tag for e in c]) for c in cases if "gradcheck" in c.get("name", "")]
failed = sum(1 for _, tags in names if "failure" in tags or "error" in tags)
skipped = sum(1 for _, tags in names if "skipped" in tags)
print(f"{len(names) - failed - skipped} passed, {failed} failed, {skipped} skipped")
EOF
)
STAGES+=("gradchecks_float64_cuda|-|-|$GRADCHECKS")

# ---- 4. speed against PyTorch CUDA, in the same run
stage benchmark_cuda 180 $PY benchmarks/run.py --device cuda --quick --json "$OUT/benchmark_cuda.json"

# ---- 5. one JSON, one table
$PY - "$OUT" "${STAGES[@]}" <<'EOF'
import json, os, sys
out, rows = sys.argv[1], [s.split("|", 3) for s in sys.argv[2:]]
summary = {"stages": [{"name": n, "exit_status": rc, "seconds": sec, "note": note} for n, rc, sec, note in rows]}
bench = os.path.join(out, "benchmark_cuda.json")
if os.path.exists(bench):
    with open(bench) as handle:
        summary["benchmark"] = json.load(handle)
with open(os.path.join(out, "gpu_check.json"), "w") as handle:
    json.dump(summary, handle, indent=1)
width = max(len(r[0]) for r in rows)
print(f"\n{'stage':<{width}}  exit  seconds  note")
for name, rc, sec, note in rows:
    print(f"{name:<{width}}  {rc:>4}  {sec:>7}  {note}")
print(f"\nlogs and {os.path.join(out, 'gpu_check.json')}: {out}/ ; the benchmark table: {out}/benchmark_cuda.log")
EOF
for row in "${STAGES[@]}"; do
  rc=$(echo "$row" | cut -d'|' -f2)
  [ "$rc" = "-" ] || [ "$rc" = 0 ] || exit 1
done
