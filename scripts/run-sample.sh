#!/usr/bin/env bash
# Builds the HelloNix sample image with Nixery.Build and runs it: packs the package, publishes the
# sample with -p:NixImage=true against the offline package set, reads the archive back with skopeo,
# unpacks it with umoci and runs its entry point with bubblewrap, exactly as the image config says.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-prerequisites.sh"
. "$root/scripts/env.sh"

version="$("$root/scripts/pack.sh")"
echo "== Packed Nixery.Build $version"

sample="$root/samples/HelloNix"
rm -rf "$sample/bin" "$sample/obj"
# The lock file goes into obj/, not beside the project where a real project keeps and commits it: the sample's
# package set (samples/nixpkgs) is built on this machine from its host files, so the lock names this machine's
# store paths and is nothing to commit; beside the project it would only be an untracked file in the checkout
# (which the end-to-end tests' copies of the sample would pick up). Earlier runs left it there: removed.
rm -f "$sample/nix-image.lock.json"
lock="$sample/obj/nix-image.lock.json"
# An isolated NuGet cache, so the package just packed is the one used.
export NUGET_PACKAGES="$root/artifacts/nuget-packages"
dotnet publish "$sample" -c Release -r linux-x64 -p:NixImage=true -p:NixeryBuildVersion="$version" -p:NixLockFile="$lock" -nodeReuse:false

archive="$sample/bin/Release/net10.0/linux-x64/image/hellonix.tar"
echo "== skopeo inspect oci-archive:$archive"
skopeo inspect "oci-archive:$archive" | head -n 12

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
skopeo copy --quiet "oci-archive:$archive" "oci:$work/layout:hellonix"
umoci unpack --rootless --image "$work/layout:hellonix" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
mkdir -p "$rootfs/proc" "$rootfs/dev"

# Run the entry point the way a container runtime would: the image's env, working dir and args.
args=(--bind "$rootfs" / --proc /proc --dev /dev --tmpfs /tmp --clearenv)
args+=(--chdir "$(jq -r '.process.cwd' "$work/bundle/config.json")")
while IFS= read -r kv; do
  args+=(--setenv "${kv%%=*}" "${kv#*=}")
done < <(jq -r '.process.env[]' "$work/bundle/config.json")
mapfile -t entry < <(jq -r '.process.args[]' "$work/bundle/config.json")
echo "== Running ${entry[*]} in the image"
bwrap "${args[@]}" -- "${entry[@]}"
