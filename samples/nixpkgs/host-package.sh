# Builder of mkHostPackage (run by the bootstrap busybox: `busybox sh -e host-package.sh`).
# 1. copy the imported host files into $out, 2. run $postInstall,
# 3. give ELF files the store loader and a RUNPATH, 4. check that every
# needed library is found on that RUNPATH.
"$builder" mkdir -p "$TMPDIR/bin"
"$builder" --install -s "$TMPDIR/bin"
export PATH="$TMPDIR/bin"

mkdir -p "$out"
for pair in $copies; do
    src="${pair%%:*}"
    dest="$out/${pair#*:}"
    if [ -d "$src" ]; then
        mkdir -p "$dest"
        cp -RP "$src/." "$dest/"
    else
        mkdir -p "$(dirname "$dest")"
        cp -RP "$src" "$dest"
    fi
done
chmod -R u+w "$out"

cd "$out"
eval "$postInstall"
cd /

[ -n "$patchElf" ] || exit 0

elfMagic="$(printf '\177ELF')"
isElf() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c 4 "$1")" = "$elfMagic" ]; }

# Own library directory first, then the dependencies' (from Nix).
searchPath="$rpath"
if [ -d "$out/$libSubdir" ]; then
    searchPath="$out/$libSubdir${searchPath:+:$searchPath}"
fi

# Does a directory of the RUNPATH $2 (of file $3) contain soname $1?
findLib() {
    oldIFS="$IFS"; IFS=:
    for d in $2; do
        case "$d" in '$ORIGIN'*) d="$(dirname "$3")${d#\$ORIGIN}" ;; esac
        if [ -e "$d/$1" ]; then IFS="$oldIFS"; return 0; fi
    done
    IFS="$oldIFS"
    return 1
}

find "$out" -type f | sort | while read -r f; do
    isElf "$f" || continue
    needed="$("$patchelf" --print-needed "$f" 2>/dev/null || true)"
    [ -n "$needed" ] || continue          # static executable or data-only library
    note=""
    if [ -n "$interpreter" ] && "$patchelf" --print-interpreter "$f" >/dev/null 2>&1; then
        "$patchelf" --set-interpreter "$interpreter" "$f"
        note=", interpreter=$interpreter"
    fi
    # keep $ORIGIN entries the file already had (e.g. .NET's createdump)
    origin=""
    oldIFS="$IFS"; IFS=:
    for d in $("$patchelf" --print-rpath "$f"); do
        case "$d" in '$ORIGIN'*) origin="$origin$d:" ;; esac
    done
    IFS="$oldIFS"
    newRpath="$origin$searchPath"
    "$patchelf" --set-rpath "$newRpath" "$f"
    echo "patched ${f#$out/}: RUNPATH=$newRpath$note"
    for lib in $needed; do
        findLib "$lib" "$newRpath" "$f" && continue
        case " $allowMissing " in *" $lib "*) echo "  (allowed missing: $lib)"; continue ;; esac
        echo "error: ${f#$out/} needs $lib, not found in $newRpath" >&2
        exit 1
    done
done
