#!/usr/bin/env bash
# Runs the whole test suite: unit tests and end-to-end tests against real Nix, skopeo, umoci and
# bubblewrap. Installs what it needs first. Extra arguments go to `dotnet test` (e.g. --filter).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-prerequisites.sh"
. "$root/scripts/env.sh"
cd "$root"
dotnet build Nixery.Build.sln -c Release -nologo -clp:ErrorsOnly
dotnet format Nixery.Build.sln --verify-no-changes --no-restore
dotnet test Nixery.Build.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
