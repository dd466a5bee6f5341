#!/usr/bin/env bash
# Runs the whole test suite: unit tests and end-to-end tests against real Nix, skopeo, umoci and
# bubblewrap. Installs what it needs first. Extra arguments go to `dotnet test` (e.g. --filter).
#
# With --fast as the first argument: the contributor's quick loop. Builds, checks formatting and runs every test
# that starts no program and reads no host package's files (no Nix, registry, skopeo, umoci, bubblewrap, podman,
# qemu, tar, python3, `dotnet` child process): all but the end-to-end group, which is EndToEnd/ and the tests
# marked [Trait("Category", "EndToEnd")]. Needs only the .NET SDK: nothing is installed, no root, no Nix.
# A --filter given after --fast narrows the fast group; it never adds end-to-end tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

fast=false
if [ "${1:-}" = "--fast" ]; then
  fast=true
  shift
fi

if $fast; then
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "The .NET 10 SDK is not on PATH. Install it (https://dot.net/download), then run this again." >&2
    exit 1
  fi
else
  "$root/scripts/install-prerequisites.sh"
fi
. "$root/scripts/env.sh"
cd "$root"
dotnet build Nixery.Build.sln -c Release -nologo -clp:ErrorsOnly
dotnet format Nixery.Build.sln --verify-no-changes --no-restore

if ! $fast; then
  dotnet test Nixery.Build.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
  exit
fi

unit='FullyQualifiedName!~EndToEnd&Category!=EndToEnd'
arguments=()
filtered=false
while [ "$#" -gt 0 ]; do
  case "$1" in
    --filter)
      [ "$#" -ge 2 ] || { echo "--filter needs a value" >&2; exit 2; }
      arguments+=(--filter "($2)&$unit"); filtered=true; shift 2 ;;
    --filter=*)
      arguments+=(--filter "(${1#--filter=})&$unit"); filtered=true; shift ;;
    *)
      arguments+=("$1"); shift ;;
  esac
done
$filtered || arguments+=(--filter "$unit")
start=$SECONDS
dotnet test Nixery.Build.sln -c Release --no-build -nologo "${arguments[@]}"
echo "Fast tests: $((SECONDS - start)) s (the end-to-end group is left to ./scripts/test.sh)." >&2
