#!/usr/bin/env bash
# Mutation testing of the core library with Stryker.NET 5.1.0: it changes the code one small edit at a time and runs
# the tests that cover the edit; a mutant no test notices is a gap in the tests. Slow (every mutant reruns the tests
# that cover it), so it is not part of CI; docs/mutation-testing.md records the runs and their scores.
# Usage: bash eng/mutation-test.sh [--since REF] [--tests FILTER] [GLOB ...]
#   --since REF     mutate only the code changed since REF (a branch or commit): the check for a branch before merging
#   --tests FILTER  run only the tests FILTER selects (dotnet test --filter syntax) for the initial run and the mutants
#   GLOB            mutate only the files the globs name, e.g. "**/Anomaly/FeatureScaler.cs"; none: the whole library
# Reports (HTML and JSON) land in artifacts/mutation.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/artifacts/tools
[ -x "$tools/dotnet-stryker" ] || dotnet tool install --tool-path "$tools" dotnet-stryker --version 5.1.0
options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --since) options+=("--since:$2"); shift 2 ;;
    --tests) options+=(--test-case-filter "$2"); shift 2 ;;
    *) options+=(--mutate "$1"); shift ;;
  esac
done
cd Microsoft.ML.Vae.Tests
"$tools/dotnet-stryker" --project Microsoft.ML.Vae.csproj --configuration Release --concurrency "${STRYKER_CONCURRENCY:-1}" \
  ${options[@]+"${options[@]}"} --reporter json --reporter html --reporter progress --output "$PWD/../artifacts/mutation"
