#!/usr/bin/env bash
# Benchmark: a build without Nix (lock file + binary cache) against the build with Nix, on the same app and closure.
#   1. xz: the product's decompressors as NarCompression runs them (the system's liblzma, and the SharpCompress fallback)
#      against `xz -d`, on the closure's NARs, one stream at a time.
#   2. cold image step: with Nix (store warm, layer cache empty) against without Nix (layer and NAR caches empty, NARs
#      served over HTTP from a cache that `nix copy ?compression=xz` filled and signed), and the same manifest digest.
#   3. peak RSS of the publish without Nix, for the normal closure and for one with 1 GiB more NAR: it must not grow
#      with the NAR size.
# Usage: bench/binary-cache.sh [runs]   (default 3; medians). Results: bench/binary-cache-last-run.md
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"
"$root/scripts/install-prerequisites.sh" time jq xz-utils
. "$root/scripts/env.sh"

work="$(mktemp -d /tmp/nixery-bench-cache.XXXXXX)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
. "$root/bench/lib.sh"

version="$("$root/scripts/pack.sh")"
export NUGET_PACKAGES="$work/nuget"
export MSBUILDDISABLENODEREUSE=1
make_app "$work/ours"
app="$work/ours/HelloWeb"
nix_state="$app/obj/Release/net10.0/linux-x64/nix-image"
archive="$app/bin/Release/net10.0/linux-x64/image/samples-hello-web.tar"
common=(-c Release -r linux-x64 -nodeReuse:false -m:1 -nologo -p:NixeryBuildVersion="$version" -clp:PerformanceSummary -p:NixImage=true)
image_ms() { task_ms "$1" ComputeNixImageRequest PrepareNixImage BuildNixImage; }
# dotnet publish of the app into a log; on failure, the log's tail and exit.
publish() { local log="$1"; shift; dotnet publish "$app" "${common[@]}" "$@" > "$log" 2>&1 || { tail -30 "$log"; exit 1; }; }
digest() { jq -r .manifestDigest "${archive%.tar}.json"; }
results="$work/results.md"
say() { echo "$*" | tee -a "$results"; }

# The closure with Nix, the lock it writes, and a signed xz binary cache of it served over HTTP.
publish "$work/first.log" -p:NixImageCacheDirectory="$work/warmup"
lock="$app/nix-image.lock.json"
nix-store --generate-binary-cache-key bench-cache-1 "$work/secret" "$work/public" > /dev/null
fill() { nix --extra-experimental-features nix-command copy --to "file://$work/cache?compression=xz&secret-key=$work/secret" $(jq -r '.platforms["x86_64-linux"].closure | keys[]' "$lock") 2> /dev/null; }
fill
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 -m http.server --bind 127.0.0.1 --directory "$work/cache" "$port" > /dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/nix-cache-info" > /dev/null && break; sleep 0.2; done
without_nix=(-p:NixMode=Lock -p:NixBinaryCaches="http://127.0.0.1:$port" -p:NixTrustedPublicKeys="$(cat "$work/public")")

say "# Builds without Nix: $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
say "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); .NET $(dotnet --version); $(nix --version); $runs runs per case, medians."
say "App: samples/HelloWeb with NixPackage jq, shell, tzdata: $(jq '.platforms["x86_64-linux"].closure | length' "$lock") store paths, $(( $(jq '[.platforms["x86_64-linux"].closure[].narSize] | add' "$lock") / 1048576 )) MiB of NAR, $(( $(du -scb "$work/cache/nar" | tail -1 | cut -f1) / 1048576 )) MiB as xz."
say ""

# 1. xz throughput ---------------------------------------------------------------------------------------------------
packbench="$root/bench/PackBench/bin/Release/net10.0/PackBench.dll"
dotnet build "$root/bench/PackBench" -c Release -nologo -clp:ErrorsOnly > /dev/null
nars=("$work"/cache/nar/*.nar.xz)
native_xz=(); managed_xz=(); xz_d=()
for i in $(seq "$runs"); do
  read -r out_bytes secs _ native_decoder < <(dotnet "$packbench" decompress xz "${nars[@]}"); native_xz+=("$(awk -v s="$secs" 'BEGIN{print int(s*1000)}')")
  read -r out_bytes secs _ managed_decoder < <(dotnet "$packbench" decompress xz:managed "${nars[@]}"); managed_xz+=("$(awk -v s="$secs" 'BEGIN{print int(s*1000)}')")
  s=$(date +%s%N); cat "${nars[@]}" | xz -d > /dev/null; xz_d+=($(( ($(date +%s%N) - s) / 1000000 )))
done
native_ms="$(printf '%s\n' "${native_xz[@]}" | median)"; managed_ms="$(printf '%s\n' "${managed_xz[@]}" | median)"; xz_ms="$(printf '%s\n' "${xz_d[@]}" | median)"
mbps() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.0f", b / 1e6 / (ms / 1000) }'; }
say "## 1. xz decompression, $((out_bytes / 1048576)) MiB of NAR, one stream at a time (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
say ""
say "| decoder | time | throughput (NAR bytes out) |"
say "|---|---|---|"
say "| NarCompression, as builds run it: ${native_decoder//-/ } | $native_ms ms | $(mbps "$out_bytes" "$native_ms") MB/s |"
say "| NarCompression, the fallback without liblzma: ${managed_decoder//-/ } | $managed_ms ms | $(mbps "$out_bytes" "$managed_ms") MB/s |"
say "| \`xz -d\` ($(xz --version | tail -1)) | $xz_ms ms | $(mbps "$out_bytes" "$xz_ms") MB/s |"
say ""

# 2. cold image step -------------------------------------------------------------------------------------------------
with=(); without=()
for i in $(seq "$runs"); do
  rm -rf "$work/layers-nix" "$app/bin" "$nix_state"
  publish "$work/with.log" -p:NixImageCacheDirectory="$work/layers-nix"; with+=("$(image_ms "$work/with.log")")
  nix_digest="$(digest)"
  rm -rf "$work/layers-lock" "$app/bin" "$nix_state"
  publish "$work/without.log" "${without_nix[@]}" -p:NixImageCacheDirectory="$work/layers-lock"; without+=("$(image_ms "$work/without.log")")
  lock_digest="$(digest)"
  [ "$nix_digest" = "$lock_digest" ] || { echo "digests differ: $nix_digest (Nix) and $lock_digest (lock)"; exit 1; }
done
with_ms="$(printf '%s\n' "${with[@]}" | median)"; without_ms="$(printf '%s\n' "${without[@]}" | median)"
say "## 2. Cold image step (ComputeNixImageRequest + PrepareNixImage + BuildNixImage; load after: $(cut -d' ' -f1-3 /proc/loadavg))"
say ""
say "| build | time | manifest digest |"
say "|---|---|---|"
say "| with Nix (Nix resolves and realises; store warm; empty layer cache) | $with_ms ms | \`$nix_digest\` |"
say "| without Nix (lock; every NAR fetched over HTTP, xz, into an empty layer cache) | $without_ms ms | \`$lock_digest\` |"
say ""
say "Without Nix over with Nix: $(awk -v a="$without_ms" -v b="$with_ms" 'BEGIN { printf "%.2f", a / b }')×."
say ""

# 3. peak RSS against NAR size ---------------------------------------------------------------------------------------
rm -rf "$work/rss-small" "$app/bin" "$nix_state"
small_rss="$(rss dotnet publish "$app" "${common[@]}" "${without_nix[@]}" -p:NixImageCacheDirectory="$work/rss-small")"
small_nar="$(jq '[.platforms["x86_64-linux"].closure[].narSize] | add' "$lock")"
nix-build --no-out-link "$root/bench/nixpkgs.nix" -A bench-big > /dev/null 2>&1
sed -i 's|<NixPackage Include="tzdata" />|<NixPackage Include="tzdata" /><NixPackage Include="bench-big" />|' "$app/HelloWeb.csproj"
publish "$work/big.log" -p:NixImageCacheDirectory="$work/warmup"
fill
rm -rf "$work/rss-big" "$app/bin" "$nix_state"
big_rss="$(rss dotnet publish "$app" "${common[@]}" "${without_nix[@]}" -p:NixImageCacheDirectory="$work/rss-big")"
big_nar="$(jq '[.platforms["x86_64-linux"].closure[].narSize] | add' "$lock")"
say "## 3. Peak RSS of a cold publish without Nix"
say ""
say "| closure | NAR bytes | peak RSS |"
say "|---|---|---|"
say "| the app's | $((small_nar / 1048576)) MiB | $((small_rss / 1024)) MiB |"
say "| + bench-big (1 GiB: random and text files) | $((big_nar / 1048576)) MiB | $((big_rss / 1024)) MiB |"

cp "$results" "$root/bench/binary-cache-last-run.md"
echo "Results written to bench/binary-cache-last-run.md"
