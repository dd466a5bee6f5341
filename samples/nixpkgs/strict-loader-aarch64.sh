# strict-loader.sh for Debian 12's arm64 loader (ld-linux-aarch64.so.1): overwrites its compiled-in default
# directories, /etc/ld.so.cache and /etc/ld.so.preload in place with a nonexistent path of the same length,
# so it searches nothing but RUNPATHs, as nixpkgs' loader searches nothing of the host (see strict-loader.sh,
# which this follows line for line; it stays as it is because it is an input of the x86_64 glibc, and
# changing it would change every x86_64 store path).
# Usage: sh strict-loader-aarch64.sh LOADER QEMU   (QEMU: a static qemu-aarch64, to run the arm64 loader's
# --help self-check on the x86_64 build machine; the sandbox has no binfmt_misc dependency this way).
# Run by host-package.sh's postInstall, with busybox applets on PATH.
set -e
loader="$1"
qemu="$2"
filler="/.nixpkgs-like-loader-searches-no-default-directory"

# Offsets of the strings in the loader that are exactly $1.
offsets() {
    strings -t d -n 4 "$loader" | awk -v want="$1" '{ offset = $1; sub(/^ *[0-9]+ /, ""); if ($0 == want) print offset }'
}

# Overwrites every occurrence of the string $1 with a nonexistent path of the same length.
disable() {
    old="$1"
    len="${#old}"
    case "$old" in
        */) new="$(printf '%s' "$filler" | cut -c "1-$((len - 1))")/" ;;
        *) new="$(printf '%s' "$filler" | cut -c "1-$len")" ;;
    esac
    [ "${#new}" -eq "$len" ] || { echo "error: no replacement of length $len for $old" >&2; exit 1; }
    found=""
    for offset in $(offsets "$old"); do
        printf '%s\0' "$old" > "$TMPDIR/expected"
        dd if="$loader" bs=1 skip="$offset" count=$((len + 1)) 2>/dev/null > "$TMPDIR/actual"
        cmp -s "$TMPDIR/expected" "$TMPDIR/actual" || { echo "error: $loader at $offset does not hold exactly '$old'" >&2; exit 1; }
        printf '%s' "$new" | dd of="$loader" bs=1 seek="$offset" conv=notrunc 2>/dev/null
        echo "loader: '$old' at $offset -> '$new'"
        found=1
    done
    [ -n "$found" ] || { echo "error: '$old' not found in $loader; is this Debian 12's arm64 glibc?" >&2; exit 1; }
}

# the strings Debian 12's arm64 ld-linux-aarch64.so.1 holds (each twice but the /etc ones)
disable /lib/aarch64-linux-gnu/
disable /usr/lib/aarch64-linux-gnu/
disable /lib/
disable /usr/lib/
disable /etc/ld.so.cache
disable /etc/ld.so.preload

# The loader describes its own search path: it must list nothing but the placeholders (all start /.ni).
# It is an arm64 program: run it with the user-mode emulator (a store path, like every build tool here).
"$qemu" "$loader" --help > "$TMPDIR/help"
sed -n '/^Shared library search path:/,/^$/p' "$TMPDIR/help" > "$TMPDIR/search"
cat "$TMPDIR/search"
grep -q '^Shared library search path:' "$TMPDIR/search" || { echo "error: the loader's --help shows no search path" >&2; exit 1; }
if grep -v -e '^Shared library search path:' -e '^$' -e '/\.ni' "$TMPDIR/search" | grep -q .; then
    echo "error: the patched loader still searches a default directory" >&2
    exit 1
fi
