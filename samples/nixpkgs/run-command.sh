# Builder of runCommand (run by the bootstrap busybox: `busybox sh -e run-command.sh`).
# Only busybox applets are available: put them on PATH.
"$builder" mkdir -p "$TMPDIR/bin"
"$builder" --install -s "$TMPDIR/bin"
export PATH="$TMPDIR/bin"

eval "$buildCommand"
