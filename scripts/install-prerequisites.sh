#!/usr/bin/env bash
# Installs what building and testing Nixery.Build needs on Debian/Ubuntu, idempotently:
# Nix (single-user, from Debian's nix-bin), skopeo, umoci, bubblewrap, podman (to load archives), git, docker-registry
# (CNCF distribution, the registry pushes are tested against), apache2-utils (htpasswd) and openssl, and the host packages the
# offline package set in samples/nixpkgs is built from. Runs `apt-get update` once, only when something
# is missing. Needs root (or sudo). The .NET 10 SDK is expected to be installed already.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(nix-bin skopeo umoci bubblewrap podman git ca-certificates tar gzip util-linux docker-registry apache2-utils openssl)
while read -r line; do
  line="${line%%#*}"
  [ -n "${line// /}" ] && packages+=("$line")
done < "$root/samples/nixpkgs/host-packages.txt"
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is not on PATH. Install it (https://dot.net/download), then run this again." >&2
  exit 1
fi

# Debian's nix-bin as root works without the daemon: make sure the store and its database exist.
if [ ! -d /nix/var/nix/db ]; then
  $sudo mkdir -p /nix/store /nix/var/nix
  $sudo nix-store --init 2>/dev/null || true
fi
