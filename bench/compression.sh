#!/usr/bin/env bash
# Benchmark: layer compression, gzip against zstd, on the benchmark app's closure (the same as bench/run.sh's).
# Packs every layer of the closure with the product's LayerWriter (PackBench: layers and chunks in parallel, output
# only counted) with gzip at the default level and with zstd at levels 1 to 4, RUNS times each, alternating, and
# reports median times, throughput and total compressed size, and the ratios to gzip. zstd's target (issue 25):
# at least 2x gzip's speed at no more than gzip's size. Usage: bench/compression.sh [runs]   (default 5)
# Results: bench/compression-last-run.md
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
"$root/scripts/install-prerequisites.sh" jq
. "$root/scripts/env.sh"

work="$(mktemp -d /tmp/nixery-bench-compression.XXXXXX)"
trap 'rm -rf "$work"' EXIT
. "$root/bench/lib.sh"

version="$("$root/scripts/pack.sh")"
export NUGET_PACKAGES="$work/nuget"
export MSBUILDDISABLENODEREUSE=1
make_app "$work/ours"
app="$work/ours/HelloWeb"
# One publish, for the closure the image step resolves (Nix evaluation included).
dotnet publish "$app" -c Release -r linux-x64 -nodeReuse:false -m:1 -nologo -p:NixeryBuildVersion="$version" \
  -p:NixImage=true -p:NixImageCacheDirectory="$work/layer-cache" > "$work/publish.log" || { tail -30 "$work/publish.log"; exit 1; }
paths="$(jq -r '.paths[].path' "$app/obj/Release/net10.0/linux-x64/nix-image/closure.json")"
bytes="$(du -scb $paths | tail -1 | cut -f1)"
packbench="$root/bench/PackBench/bin/Release/net10.0/PackBench.dll"
dotnet build "$root/bench/PackBench" -c Release -nologo -clp:ErrorsOnly >/dev/null
gzip_level="$(jq -r '.request.compressionLevel' "$app/obj/Release/net10.0/linux-x64/nix-image/request.json")"
codecs=("gzip:$gzip_level" zstd:1 zstd:2 zstd:3 zstd:4)
# Warm the page cache and the JIT once, so the first codec measured is not the one that pays for them.
dotnet "$packbench" "gzip:1" $paths > /dev/null
declare -A times cpus sizes
for i in $(seq "$runs"); do
  for codec in "${codecs[@]}"; do
    read -r _ out secs _ cpu < <(dotnet "$packbench" "$codec" $paths)
    times[$codec]+="$(awk -v s="$secs" 'BEGIN{print int(s*1000)}') "; sizes[$codec]="$out"
    cpus[$codec]+="$(awk -v s="$cpu" 'BEGIN{print int(s*1000)}') "
  done
done

results="$work/results.md"
say() { echo "$*" | tee -a "$results"; }
ms_of() { printf '%s\n' ${times[$1]} | median; }
cpu_of() { printf '%s\n' ${cpus[$1]} | median; }
gzip_ms="$(ms_of "gzip:$gzip_level")"; gzip_cpu="$(cpu_of "gzip:$gzip_level")"; gzip_size="${sizes[gzip:$gzip_level]}"
say "# Layer compression, $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
say "Machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; .NET $(dotnet --version). Closure: $(echo "$paths" | wc -l) store paths, $((bytes / 1000000)) MB; $runs runs per codec, alternating, medians. CPU: the packer process's CPU time (startup included), which other work on the machine moves less than the wall time."
say ""
say "| codec | time | throughput | CPU | compressed | speed vs gzip (time) | CPU vs gzip | size vs gzip |"
say "|---|---|---|---|---|---|---|---|"
for codec in "${codecs[@]}"; do
  ms="$(ms_of "$codec")"; cpu="$(cpu_of "$codec")"
  say "| $codec | $ms ms | $(awk -v b="$bytes" -v ms="$ms" 'BEGIN{printf "%.0f", b / 1e6 / (ms / 1000)}') MB/s | $cpu ms | $((sizes[$codec] / 1000)) kB | $(awk -v a="$gzip_ms" -v b="$ms" 'BEGIN{printf "%.2f", a / b}')× | $(awk -v a="$gzip_cpu" -v b="$cpu" 'BEGIN{printf "%.2f", a / b}')× | $(awk -v a="${sizes[$codec]}" -v b="$gzip_size" 'BEGIN{printf "%+.1f%%", 100 * (a - b) / b}') |"
done
cp "$results" "$root/bench/compression-last-run.md"
