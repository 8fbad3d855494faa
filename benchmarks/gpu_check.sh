#!/usr/bin/env bash
# The one-command GPU check: on a machine with an NVIDIA GPU, prove minitl's CuPy path.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]          (default OUT_DIR: gpu_check/)
#
# 1. installs what is missing, each in its own time-limited pip call, and nothing that is already there:
#    CuPy -- the wheel matching the CUDA libraries installed here (PyTorch's, pip's nvidia-* wheels, the
#    system's), not the driver's newest CUDA: benchmarks/cuda_libraries.py chooses --, PyTorch, and the test
#    tools (GPU_CHECK_NO_INSTALL=1: only say what is missing);
# 2. runs the test suite on CuPy: every test of the `device` fixture's `cuda` value and of the `cuda` fixture
#    (ops, layers, optimizers, loop, loader; the kernels of conv_cuda.py and pool_cuda.py included);
# 3. counts the float64 gradchecks among them (every differentiable op is gradchecked on the device);
# 4. runs `benchmarks/run.py --device cuda` against PyTorch CUDA (TF32 off in PyTorch, as in CuPy);
# 5. writes OUT_DIR/gpu_check.json (every stage, its exit status, seconds and limit) and prints one table.
# Limits (seconds; each overridable by its variable): CuPy install GPU_CHECK_CUPY_LIMIT=420 (the wheel and, with
# [ctk], cuBLAS & co: about 1 GB), PyTorch install GPU_CHECK_TORCH_LIMIT=900 (a CUDA build: about 3 GB), test
# tools 120, tests 210, benchmark 180.
#
# GPU_CHECK_DRY_RUN=1 (CI, tests/test_benchmarks_gpu_check.py): no pip call and no benchmark, each printed and
# recorded with its limit instead; the other stages run for real, against the CuPy stand-in
# (MINITL_CUPY_STANDIN) and a fake nvidia-smi; GPU_CHECK_TESTS picks the tests (default: tests), GPU_CHECK_PYTHON
# the interpreter (default: python3).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-gpu_check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${GPU_CHECK_PYTHON:-python3}
STAGES=()   # "name|rc|seconds|limit|note"
DRY_RUN=${GPU_CHECK_DRY_RUN:-0}

stage() {   # stage NAME LIMIT_SECONDS COMMAND...: run with a time limit, log to OUT/NAME.log, record the result
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  echo "== $name (limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 5 "$OUT/$name.log"
  [ $rc = 124 ] && echo "$name: stopped at its limit of ${limit}s"
  STAGES+=("$name|$rc|$((SECONDS - start))|$limit|")
  return $rc
}

costly_stage() {   # as stage, but under GPU_CHECK_DRY_RUN=1 only printed and recorded (pip downloads, the benchmark)
  if [ "$DRY_RUN" = 1 ]; then
    echo "== $1 (limit ${2}s), dry run, not run: ${*:3}"
    STAGES+=("$1|dry-run|0|$2|${*:3}")
    return 0
  fi
  stage "$@"
}

have() { $PY -c "import $1" >/dev/null 2>&1; }

# ---- 1. what is missing
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU answers (nvidia-smi); run this on a GPU machine. The CPU suite and the" >&2
  echo "strict CuPy stand-in (python3 -m pytest tests -k standin) cover the GPU path without one." >&2
  exit 2
fi
DRIVER_CUDA=$(nvidia-smi | sed -n 's/.*CUDA Version: \([0-9]*\).*/\1/p' | head -n 1)
if have cupy; then
  echo "CuPy: installed already, kept"
else   # the wheel for the CUDA libraries already here; the driver's newest CUDA only bounds the choice
  CHOICE=$($PY benchmarks/cuda_libraries.py "${DRIVER_CUDA:-}") || exit 2
  CUPY_PACKAGE=${CHOICE%%$'\t'*}
  echo "CuPy: $CUPY_PACKAGE (${CHOICE#*$'\t'}; the driver runs up to CUDA ${DRIVER_CUDA:-?})"
fi
TOOLS=()
have pytest || TOOLS+=(pytest)
have hypothesis || TOOLS+=(hypothesis)
have PIL || TOOLS+=(pillow)
if [ "${GPU_CHECK_NO_INSTALL:-0}" = 1 ]; then   # only say what is missing
  MISSING="${CUPY_PACKAGE:-} ${TOOLS[*]} $(have torch || echo torch)"
  [ -n "${MISSING// /}" ] && echo "missing (not installed): $MISSING"
else   # separate pip calls, each time-limited: one slow download cannot starve the others
  [ -n "${CUPY_PACKAGE:-}" ] && costly_stage install_cupy "${GPU_CHECK_CUPY_LIMIT:-420}" $PY -m pip install "$CUPY_PACKAGE"
  [ ${#TOOLS[@]} -gt 0 ] && costly_stage install_test_tools 120 $PY -m pip install "${TOOLS[@]}"
  have torch || costly_stage install_torch "${GPU_CHECK_TORCH_LIMIT:-900}" $PY -m pip install torch
fi
$PY - <<'EOF' 2>&1 | tee "$OUT/versions.txt"
import platform, numpy
from minitl import backend
print("python", platform.python_version(), "numpy", numpy.__version__)
try:
    cupy = backend.require_gpu()  # CuPy after its first-operation check (or the stand-in in a dry run)
    print("cupy", cupy.__version__, "device:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
          "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
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
stage tests_cuda 210 $PY -m pytest ${GPU_CHECK_TESTS:-tests} -p no:cacheprovider -k "cuda and not standin" \
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
STAGES+=("gradchecks_float64_cuda|-|-|-|$GRADCHECKS")

# ---- 4. speed against PyTorch CUDA, in the same run
costly_stage benchmark_cuda 180 $PY benchmarks/run.py --device cuda --quick --json "$OUT/benchmark_cuda.json"

# ---- 5. one JSON, one table
$PY - "$OUT" "${STAGES[@]}" <<'EOF'
import json, os, sys
out, rows = sys.argv[1], [s.split("|", 4) for s in sys.argv[2:]]
summary = {"stages": [{"name": n, "exit_status": rc, "seconds": sec, "limit_seconds": limit, "note": note}
                      for n, rc, sec, limit, note in rows]}
bench = os.path.join(out, "benchmark_cuda.json")
if os.path.exists(bench):
    with open(bench) as handle:
        summary["benchmark"] = json.load(handle)
with open(os.path.join(out, "gpu_check.json"), "w") as handle:
    json.dump(summary, handle, indent=1)
width = max(len(r[0]) for r in rows)
print(f"\n{'stage':<{width}}     exit  seconds  limit  note")
for name, rc, sec, limit, note in rows:
    print(f"{name:<{width}}  {rc:>7}  {sec:>7}  {limit:>5}  {note}")
print(f"\nlogs and {os.path.join(out, 'gpu_check.json')}: {out}/ ; the benchmark table: {out}/benchmark_cuda.log")
EOF
for row in "${STAGES[@]}"; do
  rc=$(echo "$row" | cut -d'|' -f2)
  [ "$rc" = "-" ] || [ "$rc" = 0 ] || [ "$rc" = dry-run ] || exit 1
done
