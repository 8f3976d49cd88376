#!/usr/bin/env bash
#SBATCH --job-name=restoregrad-enhance
#SBATCH --cpus-per-task=1
#SBATCH --output=restoregrad-enhance-%A_%a.out
# Cleans a folder tree on a Slurm cluster: one array task per shard of the sorted file list.
#
#   sbatch --array=0-7 scripts/slurm-enhance.sh IN_DIR OUT_DIR [enhance flags...]
#
# Array task K of N runs `restoregrad enhance IN_DIR -o OUT_DIR --shard K/N --skip-existing`
# (K = SLURM_ARRAY_TASK_ID, counted from 0; N = SLURM_ARRAY_TASK_COUNT): every output is
# written by exactly one task, the same bytes as one `restoregrad enhance IN_DIR -o OUT_DIR`
# run. A task that fails or is killed is retried by submitting the same array again: complete
# outputs are skipped. To run only some indices again, give N: sbatch --array=3,5
# --export=ALL,SHARDS=8 scripts/slurm-enhance.sh IN_DIR OUT_DIR. IN_DIR and OUT_DIR must be
# on a file system every node sees; pass absolute paths (the job may start elsewhere).
#
# More cores per task: sbatch -c 8 ... (enhance uses the cores the task is given). Other
# enhance flags follow the folders (--model, --steps, --seed, ...); every task must get the
# same ones. The program is $RESTOREGRAD, else `restoregrad` on the PATH (the Debian package).
set -euo pipefail

usage() {
  echo "usage: sbatch --array=0-(N-1) $(basename "$0") IN_DIR OUT_DIR [restoregrad enhance flags...]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
[ -n "${SLURM_ARRAY_TASK_ID:-}" ] || { echo "slurm-enhance: not a Slurm array task (submit it with sbatch --array=0-(N-1))" >&2; usage; }
in=$1 out=$2
shift 2
k=$SLURM_ARRAY_TASK_ID
n=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:-}}
[ -n "$n" ] || { echo "slurm-enhance: SLURM_ARRAY_TASK_COUNT is not set (Slurm < 18.08?): set SHARDS=N" >&2; exit 2; }
if [ -z "${SHARDS:-}" ] && [ "${SLURM_ARRAY_TASK_MIN:-0}" != 0 -o "${SLURM_ARRAY_TASK_MAX:-$((n - 1))}" != $((n - 1)) ]; then
  echo "slurm-enhance: --array must be 0-$((n - 1)) for $n tasks (got ${SLURM_ARRAY_TASK_MIN}-${SLURM_ARRAY_TASK_MAX}); to run some indices again, set SHARDS=N" >&2
  exit 2
fi
exe=${RESTOREGRAD:-restoregrad}
echo "slurm-enhance: task $k of $n on $(hostname): $exe enhance $in -o $out --shard $k/$n --skip-existing $*"
exec "$exe" enhance "$in" -o "$out" --shard "$k/$n" --skip-existing --quiet "$@"
