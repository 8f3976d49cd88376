#!/usr/bin/env bash
# Tests scripts/slurm-enhance.sh on a one-node Slurm cluster of its own (Debian's slurmctld,
# slurmd and munge, started here with a minimal slurm.conf and munge key in a temporary
# folder, on free ports; the system's own Slurm and munge, if any, are not touched):
#   1. a tree of 24 short generated files (WAV and FLAC, 8 to 48 kHz, mono and stereo) is
#      cleaned by an array of 4 tasks: every input is written exactly once (the tasks' counts
#      add up to 24, and 24 outputs exist) and the outputs are bit-identical to one
#      `restoregrad enhance` run of the same tree;
#   2. the same array again (a retry) skips every complete output and rewrites nothing;
#   3. with two outputs deleted (a killed task), a retry writes exactly those two again.
# Skips (exit 0) with a message when not root, when Slurm cannot be installed, or when its
# daemons do not come up. Needs bin/restoregrad (make build).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
say() { echo "test-slurm: $*"; }

[ "$(id -u)" = 0 ] || { say "SKIP (not root: slurmd runs the jobs and needs root)"; exit 0; }
BIN=$REPO/bin/restoregrad
[ -x "$BIN" ] || { say "FAIL: $BIN missing (make build)"; exit 1; }
missing=()
for p in slurmctld slurmd slurm-client munge sox; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { say "SKIP (could not install ${missing[*]})"; exit 0; }
fi

T=$(mktemp -d /tmp/rg-slurm.XXXXXX)
chmod 0755 "$T"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -f "$T/munge/munged.pid" ] && kill "$(cat "$T/munge/munged.pid")" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
start=$SECONDS

# munge with its own key and socket.
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/logs"
chmod 0700 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$T/munge/munge.key"
munged --force --socket="$T/munge/munge.socket" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed" ||
  { say "SKIP (munged does not start: $(tail -1 "$T/munge/munged.log" 2>/dev/null))"; exit 0; }

host=$(hostname -s)
port() { # a free TCP port
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo $p; return; }
  done
  echo 0
}
cpus=$(nproc)
export SLURM_CONF=$T/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=rgtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(port)
SlurmdPort=$(port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i >"$T/slurmctld.out" 2>&1 & pids+=($!)
slurmd -D -N "$host" >"$T/slurmd.out" 2>&1 & pids+=($!)
up=0
for _ in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1)
  case $state in idle*|mixed*|allocated*) up=1; break ;; esac
  sleep 0.5
done
if [ $up = 0 ]; then
  say "SKIP (Slurm did not come up; node state '${state:-none}'):"
  tail -3 "$T/slurmctld.log" "$T/slurmd.log" "$T/slurmctld.out" "$T/slurmd.out" 2>/dev/null | sed 's/^/  /'
  exit 0
fi
say "Slurm $(sinfo -V | awk '{print $2}') up on $host ($cpus CPUs) in $((SECONDS - start)) s"

# The tree: 24 files of 0.4 to 1.5 s in nested folders.
rates=(8000 16000 22050 44100 48000 16000)
for i in $(seq 0 23); do
  dir=$T/in/set$((i % 3))
  [ $((i % 4)) = 0 ] && dir=$dir/deeper
  mkdir -p "$dir"
  ext=wav; [ $((i % 11)) = 5 ] && ext=flac
  sox -R -n -r "${rates[i % 6]}" -c $((1 + i % 2)) -b 16 "$dir/take$(printf %02d $i).$ext" \
    synth 0.$((4 + i % 6)) sine $((200 + 37 * i)) pinknoise vol 0.3 2>/dev/null
done
[ "$(find "$T/in" -type f | wc -l)" = 24 ] || { say "FAIL: could not generate 24 inputs"; exit 1; }

status=0
fail() { say "FAIL: $*"; status=1; }

# One run, the reference.
"$BIN" enhance "$T/in" -o "$T/whole" --quiet 2>"$T/whole.log" || { cat "$T/whole.log"; fail "single enhance run"; exit 1; }

array() { # name: runs the 4-task array; writes the sum of the tasks' "enhanced N" counts to $T/name.count
  local name=$1 job ok=0 exits
  job=$(sbatch --parsable --array=0-3 --chdir="$T" --output="$T/logs/$name-%a.out" \
    --export=ALL,RESTOREGRAD="$BIN" "$REPO/scripts/slurm-enhance.sh" "$T/in" "$T/sharded" 2>"$T/$name.sbatch")
  # sbatch --wait polls at growing intervals (tens of seconds): poll squeue instead.
  for _ in $(seq 600); do
    [ -n "$job" ] && [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && { ok=1; break; }
    sleep 0.5
  done
  exits=$(scontrol -o show job "$job" 2>/dev/null | grep -o 'ExitCode=[0-9:]*' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
  if [ $ok = 0 ] || [ "$exits" != " 4 ExitCode=0:0 " ]; then
    cat "$T/$name.sbatch" "$T/logs/$name"-*.out 2>/dev/null | sed 's/^/  /'
    fail "sbatch --array=0-3 ($name): job '$job' did not end with 4 tasks of exit 0 (${exits:-no tasks})"
  fi
  cat "$T/logs/$name"-*.out 2>/dev/null | sed -n 's/.*enhanced \([0-9]*\) of [0-9]* files.*/\1/p' |
    awk '{s += $1} END {print s + 0}' >"$T/$name.count"
}
inodes() { find "$T/sharded" -type f -printf '%P %i\n' | LC_ALL=C sort; }

t0=$SECONDS
array first; n=$(cat "$T/first.count")
outs=$(find "$T/sharded" -type f | wc -l)
[ "$n" = 24 ] && [ "$outs" = 24 ] || fail "4 tasks enhanced $n files and left $outs outputs, want 24 and 24"
diff -r "$T/whole" "$T/sharded" >"$T/diff.txt" 2>&1 || fail "sharded outputs differ from one run's: $(head -3 "$T/diff.txt" | tr '\n' ' ')"
say "4 array tasks: $(grep -h -o 'shard [0-9]/4 ([0-9]* of 24 files)' "$T/logs/first"-*.out | tr '\n' ' ')- $n files enhanced, 24 outputs, identical to one run ($((SECONDS - t0)) s)"

before=$(inodes)
array retry; n=$(cat "$T/retry.count")
[ "$n" = 0 ] && [ "$before" = "$(inodes)" ] || fail "a retry of a complete array enhanced $n files or replaced outputs"
skipped=$(cat "$T/logs/retry"-*.out | sed -n 's/.* \([0-9]*\) complete output(s) skipped.*/\1/p' | awk '{s += $1} END {print s + 0}')
[ "$skipped" = 24 ] || fail "a retry skipped $skipped complete outputs, want 24"

gone=$(find "$T/sharded" -type f | LC_ALL=C sort | sed -n '3p;17p')
[ -n "$gone" ] && rm -f -- $gone
array killed; n=$(cat "$T/killed.count")
[ "$n" = 2 ] || fail "after deleting 2 outputs, a retry enhanced $n files, want 2"
diff -r "$T/whole" "$T/sharded" >"$T/diff.txt" 2>&1 || fail "after the retry, outputs differ: $(head -3 "$T/diff.txt" | tr '\n' ' ')"

[ $status = 0 ] && say "PASS (24 files, 4 array tasks: each written once, bit-identical to one run; a retry skips complete outputs and redoes deleted ones; $((SECONDS - start)) s)"
exit $status
