#!/usr/bin/env bash
# Captures the files munin-plugins reads from this machine into DIR, as a
# snapshot `munin-plugins --root DIR` (and tests/fixtures/proc/) can read:
# proc/, sys/, dev/ (LVM names only), statvfs (file system sizes) and time.
# Only the files the plugins read are copied, and only the first few
# processes, to keep a fixture small and reviewable.
#
#   INTERVAL=30 scripts/capture-proc.sh tests/fixtures/proc/$(uname -r | cut -d- -f1)
#
# With INTERVAL=N, block device counters are also read N seconds before the
# capture and written as diskstats' saved state (state/diskstats), so that
# diskstats' fetch has real rates to show.
set -euo pipefail
dir=${1:?usage: capture-proc.sh DIR}
processes=${PROCESSES:-12}
interval=${INTERVAL:-0}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if ((interval > 0)); then
    mkdir -p "$dir/state"
    {
        echo "munin-rs diskstats 1"
        echo "@$(date +%s)"
        for b in /sys/block/*; do
            # rd_ios rd_sectors rd_ticks wr_ios wr_sectors wr_ticks io_ticks
            read -r -a c <"$b/stat"
            echo "${b##*/} ${c[0]} ${c[2]} ${c[3]} ${c[4]} ${c[6]} ${c[7]} ${c[9]}"
        done
    } >"$dir/state/diskstats"
    sleep "$interval"
fi

copy() { # copy SRC DEST-relative-to-dir, if readable
    [[ -r $1 && -f $1 ]] || return 0
    mkdir -p "$dir/$(dirname "$2")"
    cat "$1" >"$dir/$2" 2>/dev/null || rm -f "$dir/$2"
}

for f in stat uptime loadavg meminfo vmstat diskstats net/dev net/snmp \
    sys/fs/file-nr sys/kernel/random/entropy_avail; do
    copy "/proc/$f" "proc/$f"
done
copy /proc/self/mountinfo proc/self/mountinfo
# A Linux 2.4 slabinfo is the only one the memory plugin reads.
if head -1 /proc/slabinfo 2>/dev/null | grep -q 'version: 1\.1'; then
    copy /proc/slabinfo proc/slabinfo
fi
for f in run pages_sharing; do copy "/sys/kernel/mm/ksm/$f" "sys/kernel/mm/ksm/$f"; done

n=0
for p in $(ls /proc | grep -E '^[0-9]+$' | sort -n); do
    ((n < processes)) || break
    [[ -r /proc/$p/stat ]] || continue
    copy "/proc/$p/stat" "proc/$p/stat"
    n=$((n + 1))
done

for b in /sys/block/*; do
    name=${b##*/}
    copy "$b/stat" "sys/block/$name/stat"
    if [[ -r $b/dm/name ]]; then
        copy "$b/dm/name" "sys/block/$name/dm/name"
        dm=$(cat "$b/dm/name")
        # The LVM name: VG and LV split at the first lone dash.
        if [[ $dm =~ ^((-{2}|[^-])+)-([^-].*)$ ]]; then
            vg=${BASH_REMATCH[1]//--/-} lv=${BASH_REMATCH[3]//--/-}
            [[ -e /dev/$vg/$lv ]] && mkdir -p "$dir/dev/$vg" && : >"$dir/dev/$vg/$lv"
        fi
    fi
done

for i in /sys/class/net/*; do
    name=${i##*/}
    copy "$i/speed" "sys/class/net/$name/speed"
    for s in rx_bytes tx_bytes rx_errors tx_errors rx_dropped tx_dropped collisions; do
        copy "$i/statistics/$s" "sys/class/net/$name/statistics/$s"
    done
done

# statvfs cannot be copied: one line per mount point of mountinfo.
: >"$dir/statvfs"
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r mp; do
    real=$(printf '%b' "${mp//\\/\\0}")
    if s=$(stat -f -c '%S %b %f %a %c %d' -- "$real" 2>/dev/null); then
        echo "$mp $s" >>"$dir/statvfs"
    fi
done
date +%s >"$dir/time"
uname -sr >"$dir/KERNEL"
echo "captured $(uname -sr) into $dir"
