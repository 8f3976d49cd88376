#!/bin/sh
# Train on a lent single-GPU machine (issue 26) for at most about 9 minutes, from the data pack.
#
# That machine has PyTorch with CUDA and nothing else of ours: no ../shared/data, no internet,
# no python3-soundfile. A copy of the tree goes there with the pack (pack/, git-ignored, named
# in the device tool's `carry`), and only what this script writes under $OUT comes back (at
# most 8 files, 2 folders down). Once, here:
#
#   /usr/bin/python3 -m models.train.pack            # pack/: ~21 MB, tree + pack < 64 MiB
#
# There (the device tool: command "scripts/gpu-train.sh", carry ["pack"], timeout_s 600):
#
#   scripts/gpu-train.sh [more train.py flags]
#   RESUME=models/checkpoints/tf-rt-v2/last.pt scripts/gpu-train.sh   # continue that run
#
# RESUME continues a checkpoint's run with the settings it was trained with (its config,
# objective, levers, seed, batch), on seeded batches from the pack (--seeded: a single-stream
# CPU run switches to them); a checkpoint that came back from an earlier call (copied into the
# tree first) continues where that call stopped. Without RESUME a fresh tf-rt run starts with the
# shipped models' recipe. Writes $OUT/run/last.pt (and log.csv), $OUT/train.log, $OUT/env.txt.
#
# Dry run on the CPU here (a few steps; the pytest test_pack.py runs it too):
#
#   OUT=/tmp/gpu-dry DEVICE=cpu PY=/usr/bin/python3 MINUTES=0.2 scripts/gpu-train.sh --steps 3
#
# Environment, with defaults: OUT (required), DEVICE=cuda, PY=python3, PACK=pack, RESUME="",
# CONFIG=tf-rt, OBJECTIVE=restoregrad-noposterior, SEED=1, BATCH (the checkpoint's; 32 fresh),
# MINUTES=8 (training wall time; start-up and the last checkpoint add about a minute),
# CKPT_MINUTES=3, WORKERS=8 (DataLoader processes mixing batches), THREADS=4, AMP=1
# (bfloat16 autocast; AMP=0 turns it off), STEPS=1000000 (MINUTES ends the run first).
set -eu
cd "$(dirname "$0")/.."

: "${OUT:?set OUT to the folder for checkpoints and logs}"
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
PACK=${PACK:-pack}
RESUME=${RESUME:-}
CONFIG=${CONFIG:-tf-rt}
OBJECTIVE=${OBJECTIVE:-restoregrad-noposterior}
SEED=${SEED:-1}
MINUTES=${MINUTES:-8}
CKPT_MINUTES=${CKPT_MINUTES:-3}
WORKERS=${WORKERS:-8}
THREADS=${THREADS:-4}
AMP=${AMP:-1}
STEPS=${STEPS:-1000000}

if [ ! -f "$PACK/corpus.npz" ] || [ ! -f "$PACK/valid.npz" ]; then
    echo "gpu-train: no data pack at $PACK/ (make it with: /usr/bin/python3 -m models.train.pack; carry it)" >&2
    exit 2
fi
mkdir -p "$OUT/run"
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())'
    cat "$PACK/index.json" 2>/dev/null || true
} >"$OUT/env.txt" 2>&1

amp=""
[ "$AMP" = 1 ] || amp="--no-amp"
if [ -n "$RESUME" ]; then
    # The run goes on with its own config, objective, seed and batch (BATCH may change the batch).
    meta=$("$PY" -c 'import sys; from models.train import networks as N; m = N.load_checkpoint(sys.argv[1])["meta"]; print(m["config"], m["objective"], m["seed"], m["batch"])' "$RESUME")
    r_config=$(echo "$meta" | cut -d' ' -f1)
    r_objective=$(echo "$meta" | cut -d' ' -f2)
    r_seed=$(echo "$meta" | cut -d' ' -f3)
    r_batch=$(echo "$meta" | cut -d' ' -f4)
    set -- --resume --config "$r_config" --objective "$r_objective" --seed "$r_seed" --batch "${BATCH:-$r_batch}" "$@"
    cp "$RESUME" "$OUT/run/last.pt"
else
    # The shipped models' recipe (models/zoo/*/CARD.md) on a fresh run.
    set -- --config "$CONFIG" --objective "$OBJECTIVE" --seed "$SEED" --batch "${BATCH:-32}" --ema 0.999 \
        --aux-spec 5 --gap-noise 0.3 --recipe v2 --sisdr-cap 30 "$@"
fi

# A hard stop two minutes after MINUTES, should the last checkpoint hang: the checkpoints
# every CKPT_MINUTES are on disk by then.
limit=$("$PY" -c 'import sys; print(int(float(sys.argv[1]) * 60 + 120))' "$MINUTES")
rcfile=$(mktemp)
(
    PYTHONUNBUFFERED=1 timeout "$limit" "$PY" -m models.train.train --device "$DEVICE" --data "$PACK" \
        --out "$OUT/run" --keep none --seeded --workers "$WORKERS" --threads "$THREADS" $amp \
        --steps "$STEPS" --max-minutes "$MINUTES" --ckpt-minutes "$CKPT_MINUTES" "$@" 2>&1
    echo $? >"$rcfile"
) | tee "$OUT/train.log"
rc=$(cat "$rcfile")
rm -f "$rcfile"
# Only the newest state comes back: last.pt (the step files are copies of earlier ones).
rm -f "$OUT"/run/step*.pt "$OUT"/run/last.tmp
ls -l "$OUT/run" | tee -a "$OUT/train.log"
exit "$rc"
