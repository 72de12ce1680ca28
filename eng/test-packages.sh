#!/usr/bin/env bash
# Packs Vae.MLNet.sln into artifacts/packages (the release command of docs/packages.md), installs the packages into
# fresh apps outside the repository (eng/package-test/*/Program.cs) and runs them, checks what each package holds,
# and installs the 'vae' tool and checks that it reproduces an app's log-likelihoods. Ends with
# "Failed: N, Passed: N", which eng/test.sh adds to its counts.
#
# Usage: eng/test-packages.sh [--no-build]    --no-build packs what 'dotnet build|test -c Release' built already
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
packages=$root/artifacts/packages
passed=0 failed=0
check() { # DESCRIPTION COMMAND...: runs the command, counts it, and returns its success
  local what=$1; shift
  if "$@"; then echo "  passed: $what"; passed=$((passed + 1)); else echo "  FAILED: $what"; failed=$((failed + 1)); return 1; fi
}
finish() { echo "Package tests: Failed: $failed, Passed: $passed"; [ "$failed" -eq 0 ]; exit $?; }

expected=(Microsoft.ML.Vae Microsoft.ML.Vae.Cli)
if grep -q 'Microsoft.ML.Vae.MLNet.csproj' "$root/Vae.MLNet.sln"; then
  expected+=(Microsoft.ML.Vae.MLNet)
else
  echo "Microsoft.ML.Vae.MLNet is not in Vae.MLNet.sln: its package is not built or tested."
fi

rm -f "$packages"/*.nupkg
check "dotnet pack Vae.MLNet.sln" dotnet pack "$root/Vae.MLNet.sln" -c Release -o "$packages" -nologo -v q ${1:+"$1"}
core_package=$(ls "$packages"/Microsoft.ML.Vae.[0-9]*.nupkg 2>/dev/null | head -n 1)
[ -n "$core_package" ] || { echo "  FAILED: no Microsoft.ML.Vae package in $packages"; failed=$((failed + 1)); finish; }
version=${core_package##*/Microsoft.ML.Vae.}
version=${version%.nupkg}

produced=$(cd "$packages" && ls *.nupkg | sed "s/\.$version\.nupkg\$//" | sort)
check "the packages are exactly ${expected[*]} (no test, sample, benchmark or helper project)" \
  test "$produced" = "$(printf '%s\n' "${expected[@]}" | sort)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The local folder on top of the machine's own feeds, for the apps and the tool.
cat > "$work/nuget.config" <<XML
<configuration>
  <packageSources>
    <add key="artifacts" value="$packages" />
  </packageSources>
</configuration>
XML
# Restores extract packages into the global folder once per version; drop ours so this build's packages are the ones used.
global=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
for id in "${expected[@]}"; do rm -rf "${global%/}/${id,,}/$version"; done

app() { # NAME PACKAGE: a console app with only that package added, built in Release
  mkdir -p "$work/$1"
  cat > "$work/$1/$1.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
</Project>
XML
  cp "$root/eng/package-test/$1/Program.cs" "$work/$1/"
  dotnet add "$work/$1/$1.csproj" package "$2" --version "$version" >"$work/$1.log" 2>&1 &&
    dotnet build "$work/$1" -c Release -nologo -v q >>"$work/$1.log" 2>&1 || { cat "$work/$1.log"; false; }
}
nuspec() { cat "${global%/}/${1,,}/$version/${1,,}.nuspec"; }
has_dependency() { nuspec "$1" | grep -q "<dependency id=\"$2\""; }
license_and_readme() {
  nuspec "$1" | grep -q '<license type="expression">MIT</license>' && nuspec "$1" | grep -q '<readme>README.md</readme>' &&
    [ -s "${global%/}/${1,,}/$version/README.md" ]
}

echo "Microsoft.ML.Vae $version"
if check "a fresh app installs and builds with Microsoft.ML.Vae" app Core Microsoft.ML.Vae; then
  check "the app trains, scores, saves and reloads through the package" dotnet "$work/Core/bin/Release/net10.0/Core.dll" "$work"
  check "the package holds Microsoft.ML.Vae.dll alone (no reports, no data set readers)" \
    test "$(cd "${global%/}/microsoft.ml.vae/$version/lib/net10.0" && ls *.dll)" = "Microsoft.ML.Vae.dll"
  check "the package has the MIT licence expression and its readme" license_and_readme Microsoft.ML.Vae
  check "the package does not depend on ML.NET" eval '! has_dependency Microsoft.ML.Vae Microsoft.ML'
fi

echo "Microsoft.ML.Vae.Cli $version"
if check "dotnet tool install Microsoft.ML.Vae.Cli" dotnet tool install Microsoft.ML.Vae.Cli --version "$version" \
     --tool-path "$work/tools" --configfile "$work/nuget.config"; then
  check "'vae score' reproduces the app's log-likelihoods" eval \
    '"$work/tools/vae" score --model "$work/model.vae" --input "$work/rows.csv" --eval-k 100 --out "$work/scores.csv" &&
     diff <(tail -n +2 "$work/scores.csv" | cut -d, -f2) "$work/log-likelihood.txt"'
fi

if [[ " ${expected[*]} " == *" Microsoft.ML.Vae.MLNet "* ]]; then
  echo "Microsoft.ML.Vae.MLNet $version"
  if check "a fresh app installs and builds with Microsoft.ML.Vae.MLNet" app MLNet Microsoft.ML.Vae.MLNet; then
    check "the app's VaeEmbed and Iwae pipelines run" dotnet "$work/MLNet/bin/Release/net10.0/MLNet.dll"
    for dependency in Microsoft.ML Microsoft.ML.OnnxTransformer Microsoft.ML.OnnxRuntime; do
      check "the package depends on $dependency" has_dependency Microsoft.ML.Vae.MLNet $dependency
    done
    check "the package depends on Microsoft.ML.Vae $version" eval \
      'nuspec Microsoft.ML.Vae.MLNet | grep -q "<dependency id=\"Microsoft.ML.Vae\" version=\"$version\""'
    check "the package has the MIT licence expression and its readme" license_and_readme Microsoft.ML.Vae.MLNet
  fi
fi
finish
