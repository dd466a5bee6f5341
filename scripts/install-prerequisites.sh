#!/usr/bin/env bash
# Installs what building and testing Nixery.Build needs on Debian/Ubuntu, idempotently:
# Nix (from Debian's nix-bin, with the build users Nix's installer makes), skopeo, umoci, bubblewrap, podman (to load archives), git,
# mount and e2fsprogs (the fault tests mount a full tmpfs and make folders immutable with chattr), binutils (readelf),
# python3 (tarfile reads back our tars), zstd (checks our zstd layers), docker-registry
# (CNCF distribution, the registry pushes are tested against), apache2-utils (htpasswd) and openssl, and the host packages the
# offline package set in samples/nixpkgs is built from (qemu-user-static among them, for its aarch64-linux set), plus
# binfmt-support (registers qemu-aarch64 with binfmt_misc, so arm64 programs run transparently), and Node.js with npm
# where `node` or `npm` is missing (the SBOM tests install the CycloneDX project's validator with npm; a Node.js that
# is already there, from Debian or elsewhere, is kept). Fetches the aarch64-linux
# set's content (samples/nixpkgs/fetch-arm64.sh). Runs `apt-get update` once, only when something
# is missing. Needs root (or sudo). The .NET 10 SDK is expected to be installed already.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(nix-bin skopeo umoci bubblewrap podman git ca-certificates tar gzip zstd util-linux mount e2fsprogs binutils python3 docker-registry apache2-utils openssl binfmt-support)
while read -r line; do
  line="${line%%#*}"
  [ -n "${line// /}" ] && packages+=("$line")
done < "$root/samples/nixpkgs/host-packages.txt"
packages+=("$@")
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

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

# The aarch64-linux package set's content: Debian bookworm's arm64 .debs and NuGet's linux-arm64 .NET runtime, unpacked
# into samples/nixpkgs/.arm64 (adds the arm64 dpkg architecture; quiet and instant once done).
bash "$root/samples/nixpkgs/fetch-arm64.sh"

# arm64 programs run transparently on this x86_64 machine (samples/nixpkgs/verify-arm64.sh runs the arm64 set under bwrap)
# through qemu-aarch64 registered with binfmt_misc with the F (fix-binary) flag: the kernel opens the emulator when it is
# registered, so it also serves programs in a root without it (bwrap, containers) and programs they exec. qemu-user-static's
# postinst registers it through binfmt-support (`update-binfmts`, whose entry has fix_binary yes); without an init system
# nothing registers it again after a reboot, so check and register here. Building the set does not need it (the builds run
# their arm64 steps, the loader's self-check and busybox --list, through the store's qemu-aarch64-static), so failing to
# register only warns.
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/register" ] || $sudo mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null || true
if ! grep -qs '^flags: .*F' "$binfmt/qemu-aarch64" || ! grep -qsx enabled "$binfmt/qemu-aarch64"; then
  # an entry without F (or disabled) is replaced by binfmt-support's
  [ ! -e "$binfmt/qemu-aarch64" ] || echo -1 | $sudo tee "$binfmt/qemu-aarch64" >/dev/null || true
  $sudo update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  if ! grep -qs '^flags: .*F' "$binfmt/qemu-aarch64"; then
    echo "warning: could not register qemu-aarch64 with binfmt_misc (F flag); arm64 programs will not run here" >&2
  fi
fi
