#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each and prints, per
# target, the executions done and whether it crashed.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# The checked-in seeds in fuzz/corpus/<target>/ (typed values in
# testkit/src/fuzz/seeds.rs, written by
# `cargo run -p proto-testkit --features fuzz --bin fuzz-seeds`; add a crash
# there as a value) and the checked-in minimized corpus of the long runs in
# fuzz/corpus-min/<target>/ (see "Long runs" below) are read but never
# written:
# libFuzzer adds new inputs to the first corpus directory, which is the
# git-ignored fuzz/corpus-work/<target>/. Logs go next to it, crash inputs to
# fuzz/artifacts/<target>/. Exits non-zero if any target crashed.
#
# FUZZ_SANITIZER (default: none) is passed to `cargo fuzz -s`. proto-core
# forbids unsafe code, so AddressSanitizer would only watch its dependencies,
# at about a third of the executions per second; FUZZ_SANITIZER=address
# restores cargo-fuzz's default. Debug assertions stay on either way.
#
# Long runs (outside CI, 10 million executions a target), then their corpus
# minimized into fuzz/corpus-min/<target>/ and committed, so that every
# CI run starts from what they found:
#
#   cd fuzz && cargo +nightly fuzz run -s none T corpus-work/T corpus/T -- -runs=10000000
#   mkdir -p corpus-min/T.new && cargo +nightly fuzz run -s none T corpus-min/T.new \
#       corpus-min/T corpus-work/T corpus/T -- -merge=1 && rm -rf corpus-min/T && mv corpus-min/T.new corpus-min/T
set -euo pipefail

usage="usage: fuzz/run.sh SECONDS [TARGET...]"
seconds=${1:?$usage}
shift
[[ $seconds =~ ^[0-9]+$ ]] || { echo "$usage" >&2; exit 2; }

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$fuzz_dir/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi

if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Build everything first so the time budget goes to fuzzing.
sanitizer=${FUZZ_SANITIZER:-none}
cargo +nightly fuzz build -s "$sanitizer"

work="$fuzz_dir/corpus-work"
summary=()
failed=0
for target in "${targets[@]}"; do
    seeds="$fuzz_dir/corpus/$target"
    found="$fuzz_dir/corpus-min/$target"
    mkdir -p "$work/$target" "$seeds" "$found"
    log="$work/$target.log"
    echo "== $target: fuzzing for ${seconds}s (log: ${log#"$PWD"/})"
    start=$SECONDS
    if cargo +nightly fuzz run -s "$sanitizer" "$target" "$work/$target" "$seeds" "$found" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        result="ok"
    else
        result="CRASH ($(grep -m1 -o 'Test unit written to .*' "$log" || echo "see $log"))"
        failed=1
    fi
    elapsed=$((SECONDS - start))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' ||
        grep -o '^Done [0-9]* runs' "$log" | tail -n1 | grep -o '[0-9][0-9]*' || echo "?")
    line=$(printf '%-22s %12s execs %5ss  %s' "$target" "$execs" "$elapsed" "$result")
    echo "$line"
    summary+=("$line")
done

echo
echo "== summary ($seconds s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
