#!/usr/bin/env bash
# Proves the README's two commands on a Debian 12 machine that has nothing but the .NET SDK, as a new user meets it:
# no Nix, no nixbld users, no /etc/nix, an empty Nix store, an empty NuGet cache.
#
#  1. bootstraps a bookworm root with mmdebstrap (variant apt, plus what the .NET SDK itself needs to run), from the
#     mirrors this machine's apt uses;
#  2. copies this machine's .NET SDK (/usr/share/dotnet) in, as its installer would have put it;
#  3. clones this repository's committed HEAD into it (uncommitted changes are not part of the check);
#  4. runs ./scripts/run-sample.sh, then ./scripts/test.sh, inside: as the root of a mount and PID namespace of its own,
#     with the network of this machine (apt, NuGet) and nothing else of it. The network's trust comes along: local CA
#     certificates (/usr/local/share/ca-certificates, such as a TLS-inspecting proxy's) are added to the root's store.
#
# Needs root. Takes about 25 minutes on 2 cores: everything is built from nothing (the Nix store, NuGet packages).
# Usage: scripts/fresh-root-check.sh [--keep] [--sample-only]
#   --keep         leave the root in place (its path is printed) instead of deleting it
#   --sample-only  run only ./scripts/run-sample.sh
# FRESH_ROOT_DIR chooses the parent folder of the root (default /var/tmp).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
keep="" sample_only=""
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --sample-only) sample_only=1 ;;
    *) echo "usage: $0 [--keep] [--sample-only]" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" -eq 0 ] || { echo "fresh-root-check needs root (it bootstraps and enters a Debian root)." >&2; exit 1; }
command -v dotnet >/dev/null || { echo "The .NET SDK is not on PATH: there is nothing to copy into the fresh root." >&2; exit 1; }
if ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

# The mirrors apt uses here (deb822 sources, else sources.list).
sources=""
for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [ -s "$candidate" ] && grep -q '^[^#]' "$candidate"; then sources="$candidate"; break; fi
done
[ -n "$sources" ] || { echo "No Debian apt sources found in /etc/apt." >&2; exit 1; }

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
fresh="$(mktemp -d "${FRESH_ROOT_DIR:-/var/tmp}/nixery-fresh-root.XXXXXX")"
cleanup() {
  if [ -n "$keep" ]; then echo "== The fresh root stays at $fresh"; else rm -rf --one-file-system "$fresh"; fi
}
trap cleanup EXIT

seconds() { date +%s; }
start=$(seconds)
echo "== Bootstrapping Debian 12 (bookworm) into $fresh from $sources"
# What the .NET SDK needs to run (its Debian packages' dependencies), and nothing for Nix or the tests.
mmdebstrap --quiet --variant=apt \
  --include=ca-certificates,libc6,libgcc-s1,libgssapi-krb5-2,libicu72,libssl3,libstdc++6,zlib1g,tzdata \
  bookworm "$fresh" "$sources"
bootstrapped=$(seconds)

echo "== Copying the .NET SDK from $dotnet_root"
mkdir -p "$fresh/usr/share"
cp -a "$dotnet_root" "$fresh/usr/share/dotnet"
ln -sf /usr/share/dotnet/dotnet "$fresh/usr/bin/dotnet"
echo "== Cloning $(git -C "$repo" rev-parse --short HEAD) of $repo"
mkdir -p "$fresh/work"
git clone --quiet --no-hardlinks "$repo" "$fresh/work/Nixery.Build"
cp /etc/resolv.conf "$fresh/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$fresh/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$fresh/usr/local/share/ca-certificates/"
fi

commands='update-ca-certificates >/dev/null
cd /work/Nixery.Build
s=$(date +%s); ./scripts/run-sample.sh; echo "== run-sample.sh took $(( $(date +%s) - s )) s"'
if [ -z "$sample_only" ]; then
  commands="$commands"'
s=$(date +%s); ./scripts/test.sh; echo "== test.sh took $(( $(date +%s) - s )) s"'
fi

echo "== Running the README's commands in the fresh root"
# A mount namespace keeps the mounts from outliving the check; a PID namespace ends whatever the tests leave running.
# The root becomes the namespace's real root (pivot_root, as a container runtime does), not a chroot: the kernel lets
# no process in a chroot create a user namespace, which bubblewrap needs to run an image as its non-root user, and
# Nix's sandbox needs its root to be a mount point.
unshare --mount --pid --fork --propagation private -- bash -euo pipefail -c '
  fresh="$1" commands="$2"
  mount --bind "$fresh" "$fresh"
  mount --rbind /dev "$fresh/dev"
  mount -t proc proc "$fresh/proc"
  mount --rbind /sys "$fresh/sys"
  cd "$fresh"
  mkdir -p .old-root
  pivot_root . .old-root
  # (the fresh root has no umount of its own: util-linux'"'"'s mount is not in a minimal Debian)
  /.old-root/usr/bin/umount -l /.old-root
  rmdir /.old-root
  exec /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -euo pipefail -c "$commands"
' fresh-root "$fresh" "$commands"
finished=$(seconds)
echo "== Fresh-root check passed: bootstrap $(( bootstrapped - start )) s, everything $(( finished - start )) s"
