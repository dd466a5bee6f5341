#!/usr/bin/env bash
# Benchmark: peak memory of reading a large popularity file (NixPopularityFile), as the image step does: the file
# checked whole when the request is made (PopularityFile.Load), then read for a closure's counts when the layers are
# grouped (PackBench popularity: a closure of 40 names, some of them in the file). Generates a file of about 50 MB
# (1.45 million entries, the shape of Nixery's), and reports the peak RSS (/usr/bin/time -v) with it and with no file,
# RUNS times each, alternating, medians. Target (issue 25): at most 50 MB more with the file.
# Usage: bench/popularity.sh [runs] [before-commit]   (default 3; with a commit, its reader is measured too,
# interleaved, with this harness). Results: bench/popularity-last-run.md
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"
before="${2:-}"
"$root/scripts/install-prerequisites.sh" time
. "$root/scripts/env.sh"

work="$(mktemp -d /tmp/nixery-bench-popularity.XXXXXX)"
cleanup() { [ -n "$before" ] && git -C "$root" worktree remove --force "$work/before-src" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
. "$root/bench/lib.sh"

file="$work/popularity.json"
python3 - "$file" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("{\n")
    n = 1_450_000
    for i in range(n):
        out.write(f'  "package-{i:07d}-{i % 97}.{i % 13}.{i % 7}": {(i * 7919) % 100000}{"," if i < n - 1 else ""}\n')
    out.write("}\n")
PY
names=()
for i in $(seq 0 19); do k=$((i * 65000)); names+=("package-$(printf %07d $k)-$((k % 97)).$((k % 13)).$((k % 7))" "absent-$i-1.0"); done

dotnet build "$root/bench/PackBench" -c Release -nologo -clp:ErrorsOnly > /dev/null
declare -A benches=([after]="$root/bench/PackBench/bin/Release/net10.0/PackBench.dll")
sides=(after)
if [ -n "$before" ]; then
  git -C "$root" worktree add --detach "$work/before-src" "$before" > /dev/null 2>&1
  cp "$root/bench/PackBench/Program.cs" "$work/before-src/bench/PackBench/Program.cs"
  dotnet build "$work/before-src/bench/PackBench" -c Release -nologo -clp:ErrorsOnly > /dev/null
  benches[before]="$work/before-src/bench/PackBench/bin/Release/net10.0/PackBench.dll"
  sides+=(before)
fi

declare -A rss_of secs_of outputs
for i in $(seq "$runs"); do
  for side in "${sides[@]}"; do
    for with in none file; do
      arg="none"; [ "$with" = file ] && arg="$file"
      /usr/bin/time -v dotnet "${benches[$side]}" popularity "$arg" "${names[@]}" > "$work/out" 2> "$work/time"
      rss_of[$side-$with]+="$(awk '/Maximum resident set size/{print $6}' "$work/time") "
      read -r secs sum _ < "$work/out"
      secs_of[$side-$with]+="$(awk -v s="$secs" 'BEGIN{print int(s*1000)}') "
      outputs[$side-$with]="$sum"
    done
  done
done
# Both readers rate the closure alike.
[ -z "$before" ] || [ "${outputs[after-file]}" = "${outputs[before-file]}" ] || { echo "the readers disagree: ${outputs[after-file]} vs ${outputs[before-file]}" >&2; exit 1; }

results="$work/results.md"
say() { echo "$*" | tee -a "$results"; }
med() { printf '%s\n' $1 | median; }
say "# Popularity file, peak memory: $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
say "Machine: $(nproc) cores, $(uname -r); .NET $(dotnet --version). File: $(( $(stat -c %s "$file") / 1000000 )) MB, $(( $(wc -l < "$file") - 2 )) entries; closure of ${#names[@]} names (half of them in the file). $runs runs, alternating, medians."
say ""
say "| reader | peak RSS, no file | peak RSS, with the file | extra | time (load + grouping) |"
say "|---|---|---|---|---|"
for side in "${sides[@]}"; do
  label="$side ($(git -C "$root" rev-parse --short HEAD))"; [ "$side" = before ] && label="before ($before)"
  none="$(med "${rss_of[$side-none]}")"; with="$(med "${rss_of[$side-file]}")"
  say "| $label | $((none / 1024)) MiB | $((with / 1024)) MiB | $(( (with - none) / 1024 )) MiB | $(med "${secs_of[$side-file]}") ms |"
done
say ""
say "Target: at most 50 MB extra."
cp "$results" "$root/bench/popularity-last-run.md"
echo "Results written to bench/popularity-last-run.md"
