#!/usr/bin/env bash
# Builds the ML.NET integration (Microsoft.ML.Vae.MLNet and samples/MLNetPipeline) and runs its tests.
# These projects are not in Vae.MLNet.sln because ML.NET is not on every NuGet feed; see docs/mlnet.md.
#
# Usage: eng/test-mlnet.sh [DIR]
#   DIR (or $MLNET_ASSEMBLIES): a folder of ML.NET assemblies (Microsoft.ML.Core.dll, Microsoft.ML.Data.dll, ...).
#   Without it, the Microsoft.ML package is restored from the configured feeds ($MLNET_VERSION, default 5.0.0).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${MLNET_ASSEMBLIES:-}}
properties=()
if [ -n "$dir" ]; then
  if [ ! -f "$dir/Microsoft.ML.Data.dll" ]; then
    echo "error: '$dir' has no Microsoft.ML.Data.dll; pass a folder of ML.NET assemblies, or nothing to restore the Microsoft.ML package." >&2
    exit 2
  fi
  properties+=("-p:MLNetAssemblies=$(cd "$dir" && pwd)")
fi
if [ -n "${MLNET_VERSION:-}" ]; then
  properties+=("-p:MLNetVersion=$MLNET_VERSION")
fi

dotnet build -m:1 "$root/samples/MLNetPipeline/MLNetPipeline.csproj" "${properties[@]}"
dotnet test "$root/Microsoft.ML.Vae.MLNet.Tests/Microsoft.ML.Vae.MLNet.Tests.csproj" "${properties[@]}"
