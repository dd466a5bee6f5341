# Builder of mkHostPackage (run by the bootstrap busybox: `busybox sh -e host-package.sh`).
# 1. copy the imported host files into $out, 2. run $postInstall, 3. add the
# DT_NEEDED entries of $addNeeded, 4. give every dynamic ELF file the store
# loader (executables) and a RUNPATH of its own lib plus its dependencies'
# lib directories, 5. check that every needed library is found on that RUNPATH.
# Every step that fails stops the build: nothing is skipped or swallowed.
"$builder" mkdir -p "$TMPDIR/bin"
"$builder" --install -s "$TMPDIR/bin"
export PATH="$TMPDIR/bin"

# patchelf from the store, through the bootstrap loader (the sandbox has no /lib).
patchelf() {
    "$bootstrapLibs/ld-linux-x86-64.so.2" --library-path "$bootstrapLibs" "$patchelfBinary" "$@"
}

# Every output exists (Nix requires it); a package with one output has outputs=out.
outputs="${outputs:-out}"
for o in $outputs; do
    eval "mkdir -p \"\$$o\""
done
for triple in $copies; do
    src="${triple%%:*}"
    rest="${triple#*:}"
    eval "dest=\"\$${rest%%:*}/${rest#*:}\""
    if [ -d "$src" ]; then
        mkdir -p "$dest"
        cp -RP "$src/." "$dest/"
    else
        mkdir -p "$(dirname "$dest")"
        cp -RP "$src" "$dest"
    fi
done
for o in $outputs; do
    eval "chmod -R u+w \"\$$o\""
done

cd "$out"
eval "$postInstall"

# As nixpkgs' `patchelf --add-needed`: libraries a file dlopen()s by name become
# NEEDED, so they load with it (and Nix records the reference).
for pair in $addNeeded; do
    pattern="${pair%%:*}"
    soname="${pair#*:}"
    matched=""
    for f in $pattern; do
        [ -f "$f" ] || continue
        patchelf --add-needed "$soname" "$f"
        echo "added NEEDED $soname to $f"
        matched=1
    done
    [ -n "$matched" ] || { echo "error: addNeeded: no file matches $pattern" >&2; exit 1; }
done
cd /

case "$interpreter" in '$out'*) interpreter="$out${interpreter#\$out}" ;; esac

elfMagic="$(printf '\177ELF')"
isElf() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c 4 "$1")" = "$elfMagic" ]; }

# Own library directory first (that of the library output, for every output), then the dependencies' (from Nix).
searchPath="$rpath"
eval "ownLib=\"\$${libOutput:-out}/lib\""
if [ -d "$ownLib" ]; then
    searchPath="$ownLib${searchPath:+:$searchPath}"
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

for o in $outputs; do
    eval "find \"\$$o\" -type f"
done | sort > "$TMPDIR/files"
while read -r f; do
    isElf "$f" || continue
    if ! needed="$(patchelf --print-needed "$f" 2>"$TMPDIR/err")"; then
        # a static executable has no dynamic section: nothing to patch
        grep -q "statically linked" "$TMPDIR/err" && continue
        cat "$TMPDIR/err" >&2
        echo "error: patchelf cannot read ${f#$out/}" >&2
        exit 1
    fi
    [ -n "$needed" ] || continue          # needs nothing (the loader, data-only libraries)
    note=""
    if patchelf --print-interpreter "$f" >/dev/null 2>&1; then
        [ -n "$interpreter" ] || { echo "error: ${f#$out/} has an interpreter, but the package sets none" >&2; exit 1; }
        patchelf --set-interpreter "$interpreter" "$f"
        note=", interpreter=$interpreter"
    fi
    # keep $ORIGIN entries the file already had (e.g. .NET's createdump)
    origin=""
    oldIFS="$IFS"; IFS=:
    for d in $(patchelf --print-rpath "$f"); do
        case "$d" in '$ORIGIN'*) origin="$origin$d:" ;; esac
    done
    IFS="$oldIFS"
    newRpath="$origin$searchPath"
    patchelf --set-rpath "$newRpath" "$f"
    echo "patched ${f#$out/}: RUNPATH=$newRpath$note"
    for lib in $needed; do
        findLib "$lib" "$newRpath" "$f" && continue
        case " $allowMissing " in *" $lib "*) echo "  (allowed missing: $lib)"; continue ;; esac
        echo "error: ${f#$out/} needs $lib, not found in $newRpath" >&2
        exit 1
    done
done < "$TMPDIR/files"
