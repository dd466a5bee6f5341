#!/usr/bin/env bash
# Benchmark: Nixery.Build's image step against the .NET SDK's PublishContainer on the same app, in one run.
# The SDK's base image is our own image without its app layers, pushed to a local docker-registry, so both
# produce the same bytes below the app. Reports medians of RUNS runs (default 5) and the ratios, and writes
# them to bench/last-run.md. Usage: bench/run.sh [runs]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
"$root/scripts/install-prerequisites.sh" pigz time docker-registry jq
. "$root/scripts/env.sh"

work="$(mktemp -d /tmp/nixery-bench.XXXXXX)"
registry_pid=""
cleanup() { [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

version="$("$root/scripts/pack.sh")"
export NUGET_PACKAGES="$work/nuget"
export MSBUILDDISABLENODEREUSE=1
cache="$work/layer-cache"

. "$root/bench/lib.sh"
make_app "$work/ours"
make_app "$work/sdk"
app="$work/ours/HelloWeb"
sdk_app="$work/sdk/HelloWeb"

# --- a local registry -----------------------------------------------------------------------------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$work/registry.yml" <<YAML
version: 0.1
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:$port }
log: { level: error }
YAML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
export DOTNET_CONTAINER_INSECURE_REGISTRIES="127.0.0.1:$port"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.2; done

# --- helpers --------------------------------------------------------------------------------------------------
common=(-c Release -r linux-x64 -nodeReuse:false -m:1 -nologo -p:NixeryBuildVersion="$version" -clp:PerformanceSummary)
ours() { dotnet publish "$app" "${common[@]}" -p:NixImage=true -p:NixImageCacheDirectory="$cache" "$@"; }
sdk() { dotnet publish "$sdk_app" "${common[@]}" -t:PublishContainer -p:ContainerBaseImage="127.0.0.1:$port/bench/base:latest" "$@"; }
ours_ms() { task_ms "$1" ComputeNixImageRequest PrepareNixImage BuildNixImage PushNixImage; }
sdk_ms() { task_ms "$1" ComputeDotnetBaseImageAndTag ParseContainerProperties CreateNewImage; }
change_code() {
  local line="static partial class Bench { public const string Line = \"run $RANDOM$RANDOM\"; }"
  echo "$line" > "$app/Bench.cs"; echo "$line" > "$sdk_app/Bench.cs"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
results="$work/results.md"
say() { echo "$*" | tee -a "$results"; }

# --- a base image for the SDK: our image without the app layers -------------------------------------------------
ours > "$work/first.log"
archive="$app/bin/Release/net10.0/linux-x64/image/samples-hello-web.tar"
layout="$work/base"
skopeo copy --quiet "oci-archive:$archive" "oci:$layout:base"
manifest_digest="$(jq -r '.manifests[0].digest' "$layout/index.json")"
manifest="$layout/blobs/sha256/${manifest_digest#sha256:}"
config="$layout/blobs/sha256/$(jq -r '.config.digest' "$manifest" | cut -d: -f2)"
keep="$(jq '[.history[] | select(.created_by | startswith("app") | not)] | length' "$config")"
jq -c --argjson k "$keep" '.rootfs.diff_ids |= .[:$k] | .history |= .[:$k]' "$config" > "$work/config.json"
config_digest="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
cp "$work/config.json" "$layout/blobs/sha256/$config_digest"
jq -c --argjson k "$keep" --arg d "sha256:$config_digest" --argjson s "$(stat -c %s "$work/config.json")" \
  '.layers |= .[:$k] | .config.digest = $d | .config.size = $s' "$manifest" > "$work/manifest.json"
new_manifest="$(sha256sum "$work/manifest.json" | cut -d' ' -f1)"
cp "$work/manifest.json" "$layout/blobs/sha256/$new_manifest"
jq -c --arg d "sha256:$new_manifest" --argjson s "$(stat -c %s "$work/manifest.json")" \
  '.manifests[0].digest = $d | .manifests[0].size = $s' "$layout/index.json" > "$work/index.json"
cp "$work/index.json" "$layout/index.json"
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:base" "docker://127.0.0.1:$port/bench/base:latest"

say "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
say "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); .NET $(dotnet --version); $(nix --version); runs per case: $runs (medians)."
say "App: samples/HelloWeb with NixPackage jq, shell, tzdata; the SDK's base image is ours minus the $(( $(jq '.layers | length' "$manifest") - keep )) app layer(s)."
say ""

# 1. cold: empty layer cache, Nix closure not remembered ----------------------------------------------------------
cold=()
for i in $(seq "$runs"); do
  rm -rf "$cache" "$app/obj/Release/net10.0/linux-x64/nix-image"
  change_code; ours > "$work/cold.log"; cold+=("$(ours_ms "$work/cold.log")")
done
cold_ms="$(printf '%s\n' "${cold[@]}" | median)"

# raw packing throughput on the closure's store paths
paths="$(jq -r '.paths[].path' "$app/obj/Release/net10.0/linux-x64/nix-image/closure.json")"
bytes="$(du -scb $paths | tail -1 | cut -f1)"
packbench="$root/bench/PackBench/bin/Release/net10.0/PackBench.dll"
dotnet build "$root/bench/PackBench" -c Release -nologo -clp:ErrorsOnly >/dev/null
level="$(jq -r '.request.compressionLevel' "$app/obj/Release/net10.0/linux-x64/nix-image/request.json")"
pack=(); gz=(); pz=()
for i in $(seq "$runs"); do
  read -r _ ours_out secs _ < <(dotnet "$packbench" "$level" $paths); pack+=("$(awk -v s="$secs" 'BEGIN{print int(s*1000)}')")
  s=$(date +%s%N); tar -cf - -C / ${paths//\/nix/nix} 2>/dev/null | gzip -6 | sha256sum >/dev/null; gz+=($(( ($(date +%s%N) - s) / 1000000 )))
  s=$(date +%s%N); tar -cf - -C / ${paths//\/nix/nix} 2>/dev/null | pigz -p 2 -6 | sha256sum >/dev/null; pz+=($(( ($(date +%s%N) - s) / 1000000 )))
done
gz_size="$(tar -cf - -C / ${paths//\/nix/nix} 2>/dev/null | gzip -6 | wc -c)"
pack_ms="$(printf '%s\n' "${pack[@]}" | median)"; gz_ms="$(printf '%s\n' "${gz[@]}" | median)"; pz_ms="$(printf '%s\n' "${pz[@]}" | median)"
mbs() { awk -v b="$bytes" -v ms="$1" 'BEGIN{printf "%.0f", b / 1e6 / (ms / 1000)}'; }

say "## 1. Cold (empty cache)"
say ""
say "| measure | value |"
say "|---|---|"
say "| our whole image step (ComputeNixImageRequest + PrepareNixImage + BuildNixImage tasks; Nix evaluation included) | $cold_ms ms |"
say "| closure | $(echo "$paths" | wc -l) store paths, $((bytes / 1000000)) MB |"
say "| packing, ours (level $level, layers and chunks in parallel) | $(mbs "$pack_ms") MB/s, $((ours_out / 1000)) kB |"
say "| tar \| gzip -6 \| sha256sum | $(mbs "$gz_ms") MB/s, $((gz_size / 1000)) kB |"
say "| tar \| pigz -p 2 \| sha256sum | $(mbs "$pz_ms") MB/s |"
say "| ratios | $(ratio "$gz_ms" "$pack_ms")× gzip -6 (target ≥ 4), $(ratio "$pz_ms" "$pack_ms")× pigz -p 2 (target ≥ 2), output $(awk -v a="$ours_out" -v b="$gz_size" 'BEGIN{printf "%+.1f%%", 100*(a-b)/b}') vs gzip -6 (target ≤ +5%) |"
say ""

# 2. one-line change, to an archive and to the registry --------------------------------------------------------------
o=(); s=(); orr=(); sr=()
# The registry case changes the code again, so our image is built and pushed, not found up to date.
ours -p:ContainerRegistry="127.0.0.1:$port" > /dev/null
sdk -p:ContainerRegistry="127.0.0.1:$port" -p:ContainerRepository=bench/sdk > /dev/null
for i in $(seq "$runs"); do
  change_code
  ours > "$work/o.log"; o+=("$(ours_ms "$work/o.log")")
  sdk -p:ContainerArchiveOutputPath="$work/sdk.tar.gz" > "$work/s.log"; s+=("$(sdk_ms "$work/s.log")")
  change_code
  ours -p:ContainerRegistry="127.0.0.1:$port" > "$work/or.log"; orr+=("$(ours_ms "$work/or.log")")
  sdk -p:ContainerRegistry="127.0.0.1:$port" -p:ContainerRepository=bench/sdk > "$work/sr.log"; sr+=("$(sdk_ms "$work/sr.log")")
done
o_ms="$(printf '%s\n' "${o[@]}" | median)"; s_ms="$(printf '%s\n' "${s[@]}" | median)"
or_ms="$(printf '%s\n' "${orr[@]}" | median)"; sr_ms="$(printf '%s\n' "${sr[@]}" | median)"

# 3. no change --------------------------------------------------------------------------------------------------------
n=(); sn=()
ours > /dev/null; sdk -p:ContainerArchiveOutputPath="$work/sdk.tar.gz" > /dev/null
for i in $(seq "$runs"); do
  ours > "$work/n.log"; n+=("$(ours_ms "$work/n.log")")
  sdk -p:ContainerArchiveOutputPath="$work/sdk.tar.gz" > "$work/sn.log"; sn+=("$(sdk_ms "$work/sn.log")")
done
n_ms="$(printf '%s\n' "${n[@]}" | median)"; sn_ms="$(printf '%s\n' "${sn[@]}" | median)"

# 4. a 64 MiB incompressible file in the app --------------------------------------------------------------------------
mkdir -p "$app/wwwroot" "$sdk_app/wwwroot"
b=(); sb=()
for i in $(seq "$runs"); do
  head -c 67108864 /dev/urandom > "$app/wwwroot/random.bin"
  cp "$app/wwwroot/random.bin" "$sdk_app/wwwroot/random.bin"
  ours > "$work/b.log"; b+=("$(ours_ms "$work/b.log")")
  sdk -p:ContainerArchiveOutputPath="$work/sdk.tar.gz" > "$work/sb.log"; sb+=("$(sdk_ms "$work/sb.log")")
done
rm -rf "$app/wwwroot" "$sdk_app/wwwroot"
b_ms="$(printf '%s\n' "${b[@]}" | median)"; sb_ms="$(printf '%s\n' "${sb[@]}" | median)"

say "## 2–4. Warm cache: ours vs the SDK's PublishContainer (CreateNewImage and friends)"
say ""
say "| case | ours | SDK | ratio | target |"
say "|---|---|---|---|---|"
say "| one-line change, archive | $o_ms ms | $s_ms ms | $(ratio "$o_ms" "$s_ms") | ≤ 0.75 |"
say "| one-line change, registry | $or_ms ms | $sr_ms ms | $(ratio "$or_ms" "$sr_ms") | ≤ 0.75 |"
say "| no change | $n_ms ms | $sn_ms ms | $(ratio "$n_ms" "$sn_ms") | ≤ 0.5 |"
say "| 64 MiB incompressible file added | $b_ms ms | $sb_ms ms | $(ratio "$b_ms" "$sb_ms") | ≤ 0.35 |"
say ""

# 5. memory: a closure of more than 1 GiB --------------------------------------------------------------------------------
nix-build --no-out-link "$root/bench/nixpkgs.nix" -A bench-big > /dev/null 2>&1
without="$(rss dotnet publish "$app" "${common[@]}")"
sed -i 's|<NixPackage Include="tzdata" />|<NixPackage Include="tzdata" /><NixPackage Include="bench-big" />|' "$app/HelloWeb.csproj"
change_code
with="$(rss dotnet publish "$app" "${common[@]}" -p:NixImage=true -p:NixImageCacheDirectory="$work/big-cache")"
big="$(jq '[.paths[].narSize] | add' "$app/obj/Release/net10.0/linux-x64/nix-image/closure.json")"
say "## 5. Memory"
say ""
say "| publish | peak RSS |"
say "|---|---|"
say "| without NixImage | $((without / 1024)) MiB |"
say "| with NixImage, closure of $((big / 1048576)) MiB (cold cache) | $((with / 1024)) MiB |"
say "| extra | $(( (with - without) / 1024 )) MiB (target ≤ 150 MiB) |"

cp "$results" "$root/bench/last-run.md"
echo "Results written to bench/last-run.md"
