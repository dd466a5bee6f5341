# Makes a copy of Debian's glibc loader ($1) search as nixpkgs' loader does: nowhere outside the store.
# nixpkgs builds glibc with its own prefix, so its loader has no /lib, no /usr/lib, no /etc/ld.so.cache and
# no /etc/ld.so.preload; programs find their libraries through their RUNPATH. Debian's loader has those
# paths compiled in as NUL-terminated strings. Each is overwritten in place with a path of the same length
# that exists nowhere, after checking that the bytes there are exactly the expected string and its NUL.
# (This loader is stricter than nixpkgs' in one way: nixpkgs' also searches ${glibc}/lib and libgcc's lib,
# which do not fit in place of the short Debian strings; every ELF file of the set carries a RUNPATH to the
# glibc it needs instead. Stricter, never friendlier: an image that starts here starts with nixpkgs.)
# Usage: sh strict-loader.sh LOADER TRIPLET [RUNNER]
#   TRIPLET  Debian's multiarch name of the loader's system (x86_64-linux-gnu, aarch64-linux-gnu)
#   RUNNER   what runs the loader for its --help self-check when it is not of the build machine's architecture
#            (a static qemu-aarch64 from the store: the sandbox has no binfmt_misc to count on)
# Run by host-package.sh's postInstall, with busybox applets on PATH.
set -e
loader="$1"
triplet="$2"
runner="${3:-}"
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
    [ -n "$found" ] || { echo "error: '$old' not found in $loader; is this Debian 12's $triplet glibc?" >&2; exit 1; }
}

disable "/lib/$triplet/"
disable "/usr/lib/$triplet/"
disable /lib/
disable /usr/lib/
disable /etc/ld.so.cache
disable /etc/ld.so.preload

# The loader describes its own search path: it must list nothing but the placeholders (all start /.ni).
$runner "$loader" --help > "$TMPDIR/help"
sed -n '/^Shared library search path:/,/^$/p' "$TMPDIR/help" > "$TMPDIR/search"
cat "$TMPDIR/search"
grep -q '^Shared library search path:' "$TMPDIR/search" || { echo "error: the loader's --help shows no search path" >&2; exit 1; }
if grep -v -e '^Shared library search path:' -e '^$' -e '/\.ni' "$TMPDIR/search" | grep -q .; then
    echo "error: the patched loader still searches a default directory" >&2
    exit 1
fi
