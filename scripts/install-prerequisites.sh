#!/usr/bin/env bash
# Installs what building and testing Nixery.Build needs on Debian/Ubuntu, idempotently:
# Nix (from Debian's nix-bin, with the build users Nix's installer makes), skopeo, umoci, bubblewrap, podman (to load archives), git,
# mount and e2fsprogs (the fault tests mount a full tmpfs and make folders immutable with chattr), binutils (readelf),
# python3 (tarfile reads back our tars), docker-registry
# (CNCF distribution, the registry pushes are tested against), apache2-utils (htpasswd) and openssl, and the host packages the
# offline package set in samples/nixpkgs is built from. Runs `apt-get update` once, only when something
# is missing. Needs root (or sudo). The .NET 10 SDK is expected to be installed already.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(nix-bin skopeo umoci bubblewrap podman git ca-certificates tar gzip util-linux mount e2fsprogs binutils python3 docker-registry apache2-utils openssl)
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

# Nix as its own installer leaves it (multi-user layout, Nix's defaults kept: build-users-group = nixbld,
# sandbox = true): the nixbld group and its build users, which Debian's nix-bin does not create. Root runs
# nix-build directly (no daemon needed); the builds run as nixbld users inside Nix's sandbox.
if ! getent group nixbld >/dev/null; then
  $sudo groupadd --system --gid 30000 nixbld 2>/dev/null || $sudo groupadd --system nixbld
fi
for i in $(seq 1 32); do
  getent passwd "nixbld$i" >/dev/null && continue
  uid=$((30000 + i))
  getent passwd "$uid" >/dev/null && uid=""   # taken: let useradd pick one
  $sudo useradd --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin \
    --gid nixbld --groups nixbld --comment "Nix build user $i" ${uid:+--uid "$uid"} "nixbld$i"
done

# The store and its database (nix-bin creates them on first use as root; do it now so a failure shows here).
if [ ! -d /nix/var/nix/db ]; then
  $sudo mkdir -p /nix/store /nix/var/nix
  $sudo nix-store --init
fi
