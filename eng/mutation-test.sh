#!/usr/bin/env bash
# Mutation testing of the core library with Stryker.NET 5.1.0: it changes the code one small edit at a time and runs
# the tests that cover the edit; a mutant no test notices is a gap in the tests. Slow (the first test run alone takes
# minutes on 2 cores), so it is not part of CI; docs/mutation-testing.md records the runs and their scores.
# Usage: bash eng/mutation-test.sh [GLOB ...]   e.g. bash eng/mutation-test.sh "**/Anomaly/FeatureScaler.cs"
# With no GLOB it mutates the whole core library. Reports (HTML and JSON) land in artifacts/mutation.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/artifacts/tools
[ -x "$tools/dotnet-stryker" ] || dotnet tool install --tool-path "$tools" dotnet-stryker --version 5.1.0
mutate=()
for glob in "$@"; do mutate+=(--mutate "$glob"); done
cd Microsoft.ML.Vae.Tests
"$tools/dotnet-stryker" --project Microsoft.ML.Vae.csproj --configuration Release --concurrency "${STRYKER_CONCURRENCY:-1}" \
  "${mutate[@]}" --reporter json --reporter html --reporter progress --output "$PWD/../artifacts/mutation"
