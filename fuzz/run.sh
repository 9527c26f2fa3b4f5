#!/usr/bin/env bash
# Runs each fuzz target for FUZZ_SECONDS seconds (default 60) and prints one summary line per
# target: executions, executions per second, crashes, corpus size. `make fuzz` calls it.
#
# RUSTC_BOOTSTRAP=1 lets the stable toolchain take the nightly flags cargo-fuzz passes (the
# sanitizer and coverage instrumentation). The corpus grows in fuzz/corpus/<target>, a crashing
# input is saved in fuzz/artifacts/<target>, and the full libFuzzer output in fuzz/logs/<target>.log;
# none of them is in git.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=(client_frames server_frames)
export RUSTC_BOOTSTRAP=1

# Built once up front, so that compiling does not eat into the fuzzing time.
cargo fuzz build || exit 1

mkdir -p fuzz/logs
summary=()
failed=0
for target in "${targets[@]}"; do
    log=fuzz/logs/$target.log
    mkdir -p "fuzz/corpus/$target"
    echo "fuzzing $target for ${seconds}s (log: $log)"
    # fuzz/seeds/<target> holds a few hand-written sessions to start from (read, never written).
    # -malloc_limit_mb: the targets' files are at most 512 bytes, so a bigger allocation can only
    # come from trusting a size a peer announced.
    cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" \
        -dict=fuzz/chat.dict \
        -malloc_limit_mb=32 \
        >"$log" 2>&1
    status=$?
    # libFuzzer's last status line, e.g. "#480615 DONE cov: 465 ft: 2336 corp: 490/59Kb ...
    # exec/s: 7878"; corp is the live corpus (the folder also keeps inputs it has since replaced).
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
    rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
    inputs=$(sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
    size=$(sed -n 's/.*corp: [0-9]*\/\([0-9A-Za-z]*\).*/\1/p' <<<"$last")
    crashes=$(grep -c 'Test unit written to' "$log")
    line="$target: ${execs:-0} executions in ${seconds}s (${rate:-0}/s), $crashes crashes,"
    line="$line corpus ${inputs:-0} inputs (${size:-0})"
    if [ "$status" -ne 0 ]; then
        failed=1
        for input in $(sed -n 's/.*Test unit written to //p' "$log"); do
            echo "    $target failed on $input; run it again with:"
            echo "    RUSTC_BOOTSTRAP=1 cargo fuzz run $target $input"
        done
        line="$line, FAILED (exit $status, see $log)"
    fi
    summary+=("$line")
done

echo
echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
exit "$failed"
