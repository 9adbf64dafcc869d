#!/usr/bin/env bash
# Data parallel on this machine, contenders interleaved, ROUNDS rounds: images/s of one
# epoch of a network on one pocl device with all cores, on one device with one core, on
# two pocl devices (POCL_DEVICES="pthread pthread", --device 0:0,0:1), and as 1 and 2 MPI
# ranks of one core each (mpirun --bind-to core, POCL_MAX_PTHREAD_COUNT=1).
# usage: parallel.sh [MNISTCL [ROUNDS [TRAIN ARGS...]]]
#   default TRAIN ARGS: --epochs 1 --seed 1 (the default 784-128-10 network)
set -eu
bin=${1:-build/mnistcl}
rounds=${2:-2}
shift $(($# < 2 ? $# : 2))
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--epochs 1 --seed 1)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun --bind-to core --mca btl self,vader -x POCL_MAX_PTHREAD_COUNT=1)
ips() { awk '$1 ~ /^[0-9]+$/ && NF == 6 { v = $6 } END { print v }'; }
printf '%-44s %s\n' contender "images/s (last epoch), per round"
declare -A seen
for r in $(seq 1 "$rounds"); do
    seen[1dev_2cores]+=" $("$bin" train "${args[@]}" 2>&1 | ips)"
    seen[1dev_1core]+=" $(POCL_MAX_PTHREAD_COUNT=1 "$bin" train "${args[@]}" 2>&1 | ips)"
    seen[2dev]+=" $(POCL_DEVICES="pthread pthread" "$bin" train --device 0:0,0:1 "${args[@]}" \
        2>&1 | ips)"
    seen[2dev_1core]+=" $(POCL_DEVICES="pthread pthread" POCL_MAX_PTHREAD_COUNT=1 "$bin" train \
        --device 0:0,0:1 "${args[@]}" 2>&1 | ips)"
    seen[1rank]+=" $("${mpi[@]}" -np 1 "$bin" train "${args[@]}" 2>&1 | ips)"
    seen[2ranks]+=" $("${mpi[@]}" -np 2 "$bin" train "${args[@]}" 2>&1 | ips)"
done
printf '%-44s%s\n' "one pocl device, both cores" "${seen[1dev_2cores]}"
printf '%-44s%s\n' "one pocl device, one core" "${seen[1dev_1core]}"
printf '%-44s%s\n' "two pocl devices (0:0,0:1)" "${seen[2dev]}"
printf '%-44s%s\n' "two pocl devices, POCL_MAX_PTHREAD_COUNT=1" "${seen[2dev_1core]}"
printf '%-44s%s\n' "mpirun -np 1 (one core)" "${seen[1rank]}"
printf '%-44s%s\n' "mpirun -np 2 (one core each)" "${seen[2ranks]}"
