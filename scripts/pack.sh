#!/usr/bin/env bash
# Packs Nixery.Build into artifacts/packages with a unique pre-release version and prints that version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
suffix="${NIXERY_BUILD_VERSION_SUFFIX:-dev.$(date -u +%Y%m%d%H%M%S)}"
dotnet pack "$root/src/Nixery.Build.Tasks" -c Release -p:VersionSuffix="$suffix" -nologo -clp:ErrorsOnly >&2
echo "0.1.0-$suffix"
