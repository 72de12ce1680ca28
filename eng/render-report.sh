#!/usr/bin/env bash
# Renders an HTML report in headless Chromium and checks the screenshot shows the plots.
#
#   eng/render-report.sh REPORT.html [SCREENSHOT.png] [WIDTH,HEIGHT]
#
# The check fails (exit 1) when the screenshot is (nearly) blank or lacks the report's plot colours: the normal
# series blue #1f77b4 and the anomaly red #d62728 (override with EXPECT_COLORS="#rrggbb #rrggbb ..."; the
# embeddings report has no anomaly colours, use EXPECT_COLORS="#1f77b4 #ff7f0e"). Needs the Debian package chromium
# (apt-get install -y chromium) and python3.
set -euo pipefail

report=${1:?usage: eng/render-report.sh REPORT.html [SCREENSHOT.png] [WIDTH,HEIGHT]}
screenshot=${2:-${report%.html}.png}
size=${3:-1400,2400}
expect=${EXPECT_COLORS:-"#1f77b4 #d62728"}

[[ -f "$report" ]] || { echo "render-report: no report at '$report'" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$browser" ]] || { echo "render-report: chromium is not installed (Debian: apt-get install -y chromium)" >&2; exit 2; }

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$screenshot"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --screenshot="$(realpath -m "$screenshot")" --window-size="$size" "file://$(realpath "$report")" >/dev/null 2>&1 || true
[[ -s "$screenshot" ]] || { echo "render-report: chromium wrote no screenshot" >&2; exit 1; }

python3 - "$screenshot" $expect <<'PY'
import struct, sys, zlib

path, colours = sys.argv[1], sys.argv[2:]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", chunk)
    elif kind == b"IDAT":
        idat += chunk
    pos += 12 + length
width, height, depth, colour_type, _, _, interlace = header
assert depth == 8 and interlace == 0 and colour_type in (2, 6), f"unsupported PNG layout {header}"
bpp = 3 if colour_type == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
rows, previous, i = [], bytearray(stride), 0
for _ in range(height):
    kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = previous[x]
        c = previous[x - bpp] if x >= bpp else 0
        if kind == 1: line[x] = (line[x] + a) & 255
        elif kind == 2: line[x] = (line[x] + b) & 255
        elif kind == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    previous = line
pixels = [(r[x], r[x + 1], r[x + 2]) for r in rows for x in range(0, stride, bpp)]
background = max(set(pixels[:: max(1, len(pixels) // 5000)]), key=pixels[:: max(1, len(pixels) // 5000)].count)
drawn = sum(1 for p in pixels if max(abs(p[k] - background[k]) for k in range(3)) > 24) / len(pixels)
print(f"{path}: {width}x{height}, {drawn:.1%} of pixels differ from the background {background}")
ok = drawn > 0.02
for colour in colours:
    target = tuple(int(colour.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4))
    count = sum(1 for p in pixels if max(abs(p[k] - target[k]) for k in range(3)) <= 30)
    print(f"  {colour}: {count} pixels")
    ok &= count >= 50
if not ok:
    sys.exit("render-report: the screenshot does not show the expected plots")
print("render-report: the screenshot shows the plots")
PY
