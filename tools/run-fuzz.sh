#!/bin/sh
# Runs every libFuzzer target of a fuzz build (make fuzz) for SECONDS each,
# starting from its committed corpus; new inputs go to a scratch corpus so
# the committed one only grows by hand (crashes are saved as crash-* files).
set -eu
build=$1
seconds=${2:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/bin/fuzz_*; do
    case "$bin" in *_replay) continue ;; esac
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    scratch="$build/fuzz-corpus/$name"
    mkdir -p "$scratch"
    echo "fuzz: $name for ${seconds}s"
    dict=
    [ -f "$src/tests/fuzz/$name.dict" ] && dict="-dict=$src/tests/fuzz/$name.dict"
    # -timeout: one input may take at most 25 s (a slow input is a finding:
    # decoding is linear, the config loader refuses alias bombs)
    "$bin" -max_total_time="$seconds" -max_len=70000 -timeout=25 $dict \
        -artifact_prefix="$build/crash-$name-" \
        "$scratch" "$src/tests/fuzz/corpus/$name" || status=1
done
exit $status
