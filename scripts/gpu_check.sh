#!/usr/bin/env bash
# The GPU checks behind README's GPU figures, in one run on a machine with an NVIDIA GPU and
# PyTorch (no Textual needed): the CUDA tests, host-device syncs per step, the own-model bench,
# and the charlm comparison's time. Results go to $OUT (or ./gpu-check-out).
set -u
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import torch, sys; print('torch', torch.__version__, 'python', sys.version.split()[0])"
} 2>&1 | tee "$OUT/machine.txt"
$PY -m pytest -q --noconftest -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/cuda_tests.txt"
$PY -m lrtui.bench --sync-check 2>&1 | tee "$OUT/sync_check.txt"
$PY -m lrtui.bench --own --device cuda --json "$OUT/own_cuda.json" 2>&1 | tee "$OUT/own_cuda.txt"
start=$(date +%s%N)
$PY -m lrtui --headless --task charlm --device cuda 2>&1 | tail -6 | tee "$OUT/charlm_cuda.txt"
echo "charlm on cuda: $(( ($(date +%s%N) - start) / 1000000 )) ms wall" | tee -a "$OUT/charlm_cuda.txt"
