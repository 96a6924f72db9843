#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing scripts/sweep.sbatch for real.
#
#   scripts/slurm-local.sh start    installs slurm-wlm and munge if missing, writes a minimal
#                                   slurm.conf (one node: this machine's CPUs and memory, no
#                                   accounting), starts munged, slurmctld and slurmd; waits
#                                   until the node is idle
#   scripts/slurm-local.sh stop     stops the three daemons
#   scripts/slurm-local.sh status   sinfo
#
# Idempotent: `start` on a running cluster only checks it. Needs root (as CI is); no systemd.
# Each daemon logs to $SLURM_LOCAL/<daemon>.log (default /tmp/slurm-local), and a daemon that
# does not come up is named with the end of its log.
set -euo pipefail
STATE=${SLURM_LOCAL:-/tmp/slurm-local}
CONF=/etc/slurm/slurm.conf

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

install() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # Leave a little memory to the daemons; Slurm counts MiB.
  mem=$(($(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo) - 512))
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" /var/run/munge /var/log/munge /var/lib/munge
  cat > "$CONF" <<EOF
# Written by scripts/slurm-local.sh: one node, this machine.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  # slurmd reads cgroup.conf even with proctrack/linuxproc and task/none; Slurm 22.05 (Debian
  # 12) has no "disabled" plugin, so let it find the cgroups a container has, without systemd.
  printf 'CgroupPlugin=autodetect\nIgnoreSystemd=yes\n' > /etc/slurm/cgroup.conf
}

running() { pgrep -x "$1" >/dev/null; }

start_munge() {
  running munged && return 0
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown -R munge:munge /etc/munge /var/run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 0700 /etc/munge
  chmod 0400 /etc/munge/munge.key
  munged --force 2>"$STATE/munged.log" || die "munged did not start: $(tail -n 5 "$STATE/munged.log")"
  munge -n | unmunge >/dev/null || die "munge cannot encode and decode a credential"
}

# Starts a daemon in the background; fails naming it, with its log, if it exits at once.
start_daemon() {
  local name=$1
  running "$name" && return 0
  "$name" -f "$CONF" >>"$STATE/$name.out" 2>&1 || true
  sleep 1
  running "$name" || die "$name did not start: $(tail -n 8 "$STATE/$name.log" "$STATE/$name.out" 2>/dev/null)"
}

start() {
  mkdir -p "$STATE"
  install
  # A fresh config unless this cluster already runs (loopback addresses: no DNS needed).
  running slurmctld || write_conf
  start_munge
  start_daemon slurmctld
  start_daemon slurmd
  # Up when the node takes jobs (idle, or mixed/allocated when jobs already run).
  for _ in $(seq 60); do
    state=$(timeout 5 sinfo -h -o '%T' 2>/dev/null | head -n 1 || true)
    case "$state" in
      idle | mixed | allocated) echo "slurm-local: node $(hostname -s) is $state"; return 0 ;;
      down* | drain*) scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
  done
  die "the node did not become idle (sinfo: ${state:-no answer}); slurmd.log: $(tail -n 8 "$STATE/slurmd.log" 2>/dev/null)"
}

stop() {
  for d in slurmd slurmctld munged; do
    pkill -x "$d" 2>/dev/null || true
  done
  for _ in $(seq 20); do
    running slurmd || running slurmctld || running munged || return 0
    sleep 0.5
  done
  die "a daemon did not stop: $(pgrep -ax 'slurmd|slurmctld|munged' || true)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) die "usage: scripts/slurm-local.sh start|stop|status" ;;
esac
