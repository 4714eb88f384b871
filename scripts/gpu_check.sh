#!/usr/bin/env bash
# The GPU checks behind README's GPU figures, in one run on a machine with an NVIDIA GPU and
# PyTorch (no Textual needed): the CUDA tests (the fused multi-run step's among them), host-device
# syncs per step, the own-model bench for 6 and 40 runs (against plain loops one after another
# and in one process each, all at once), one stacked step torch's way, fused and captured as
# CUDA graphs (the fused step profiled: where the limit is), and the charlm comparison's time.
# Results go to $OUT (or ./gpu-check-out).
set -u
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import torch, sys; print('torch', torch.__version__, 'python', sys.version.split()[0])"
} 2>&1 | tee "$OUT/machine.txt"
$PY -m pytest -q --noconftest -p no:cacheprovider tests/test_cuda.py tests/test_fused.py 2>&1 | tee "$OUT/cuda_tests.txt"
$PY -m lrtui.bench --sync-check 2>&1 | tee "$OUT/sync_check.txt"
$PY -m lrtui.bench --own --device cuda --json "$OUT/own_cuda.json" 2>&1 | tee "$OUT/own_cuda.txt"
$PY -m lrtui.bench --own --device cuda --runs 40 --json "$OUT/own_cuda_40.json" 2>&1 | tee "$OUT/own_cuda_40.txt"
$PY -m lrtui.bench --capture --device cuda 2>&1 | tee "$OUT/capture_cuda.txt"
$PY -m lrtui.bench --capture --device cuda --runs 40 2>&1 | tee "$OUT/capture_cuda_40.txt"
start=$(date +%s%N)
$PY -m lrtui --headless --task charlm --device cuda 2>&1 | tail -6 | tee "$OUT/charlm_cuda.txt"
echo "charlm on cuda: $(( ($(date +%s%N) - start) / 1000000 )) ms wall" | tee -a "$OUT/charlm_cuda.txt"
