#!/usr/bin/env bash
# Benchmark of a multi-platform publish (issue 13): wall-clock time of one `dotnet publish` with
# ContainerRuntimeIdentifiers="linux-x64;linux-arm64" (one image index), against two single-RID publishes run one
# after the other (-r linux-x64, then -r linux-arm64), cold (new project folder, empty layer cache; the Nix store
# already holds the packages) and warm (the same publish again, nothing changed). HelloNix on the offline package
# set. Prints medians of RUNS runs (default 3). Usage: bench/multi-platform.sh [runs]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"
"$root/scripts/install-prerequisites.sh"
. "$root/scripts/env.sh"

work="$(mktemp -d /tmp/nixery-bench-multi.XXXXXX)"
trap 'rm -rf "$work"' EXIT
version="$("$root/scripts/pack.sh")"
export NUGET_PACKAGES="$work/nuget"
export MSBUILDDISABLENODEREUSE=1

# A fresh copy of the sample, with the offline package set and a layer cache of its own.
fresh() {
  rm -rf "$work/app" "$work/cache"
  mkdir -p "$work/app/HelloNix"
  cp "$root/samples/HelloNix/"*.cs "$work/app/HelloNix/"
  sed "s|<NixPkgsPath>../nixpkgs</NixPkgsPath>|<NixPkgsPath>$root/samples/nixpkgs</NixPkgsPath>|" "$root/samples/HelloNix/HelloNix.csproj" > "$work/app/HelloNix/HelloNix.csproj"
  cp "$root/samples/Directory.Packages.props" "$work/app/"
  echo '<Project />' > "$work/app/Directory.Build.props"
  sed "s|../artifacts/packages|$root/artifacts/packages|" "$root/samples/nuget.config" > "$work/app/nuget.config"
}
publish() {
  dotnet publish "$work/app/HelloNix" -c Release -nodeReuse:false -nologo -p:NixImage=true -p:NixeryBuildVersion="$version" \
    -p:NixImageCacheDirectory="$work/cache" "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
}
ms() { local start; start=$(date +%s%N); "$@"; echo $(( ($(date +%s%N) - start) / 1000000 )); }
index() { publish '-p:ContainerRuntimeIdentifiers="linux-x64;linux-arm64"'; }
twice() { publish -r linux-x64; publish -r linux-arm64; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm-up: NuGet packages (both RIDs' packs) and the Nix store.
fresh; index; twice

declare -A results
for case in index twice; do
  cold=(); warm=()
  for _ in $(seq "$runs"); do
    fresh
    cold+=("$(ms "$case")")
    warm+=("$(ms "$case")")
  done
  results["$case cold"]="$(median "${cold[@]}")"
  results["$case warm"]="$(median "${warm[@]}")"
done

echo "| case | one publish, index of linux-x64 + linux-arm64 | two publishes, -r linux-x64 then -r linux-arm64 |"
echo "|---|---|---|"
echo "| cold (new folder, empty layer cache) | ${results[index cold]} ms | ${results[twice cold]} ms |"
echo "| warm (nothing changed) | ${results[index warm]} ms | ${results[twice warm]} ms |"
