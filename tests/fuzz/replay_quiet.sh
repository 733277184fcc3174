#!/bin/sh
# Runs a fuzz replay (the command in "$@") and fails when it fails or writes
# anything to stderr: a library never prints (libcyaml's log included), and
# a broken promise or a sanitizer report is printed there.
err=$(mktemp) || exit 1
"$@" 2>"$err"
rc=$?
if [ -s "$err" ]; then
    cat "$err" >&2
    echo "replay: the target wrote to stderr" >&2
    rc=1
fi
rm -f "$err"
exit $rc
