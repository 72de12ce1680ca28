#!/usr/bin/env bash
# The test command: installs what the tests need, builds, runs every test project, and ends with
# "N passed, N failed, N skipped" (skipped counts inconclusive tests too: a test that did not run is never hidden).
# The ML.NET integration (Microsoft.ML 5.0.1 from NuGet) is part of the solution, so its tests run here too.
set -uo pipefail
cd "$(dirname "$0")/.."
bash eng/install-deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# The libtorch engine's tests need its native shim (they fail, not skip, without it).
bash eng/build-native.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
log=$(mktemp)
dotnet test Vae.MLNet.sln -c Release 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The NuGet packages: packed from what was just built, installed into fresh apps and run (docs/packages.md).
bash eng/test-packages.sh --no-build 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -ne 0 ] && status=1
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
# A build error runs no test but must still count as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
