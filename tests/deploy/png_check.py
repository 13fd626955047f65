#!/usr/bin/env python3
"""png_check.py SIZE A.png [B.png]: A is a PNG of SIZE (WxH) that is not one flat colour; with
B, A and B show the same picture (at most 1% of pixels off by more than 24 in a channel).
Reads PNGs through netpbm's pngtopnm (alpha dropped)."""
import struct
import subprocess
import sys


def size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        sys.exit("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def pixels(path):
    ppm = subprocess.run(["pngtopnm", path], check=True, capture_output=True).stdout
    # P6\nW H\n255\n<rgb>: three header fields after the magic
    fields, pos = [], 2
    while len(fields) < 3:
        while ppm[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not ppm[end:end + 1].isspace():
            end += 1
        fields.append(int(ppm[pos:end]))
        pos = end
    if ppm[:2] != b"P6" or fields[2] != 255:
        sys.exit("%s: unexpected pnm from pngtopnm" % path)
    return ppm[pos + 1:]


want = tuple(int(x) for x in sys.argv[1].split("x"))
a = sys.argv[2]
if size(a) != want:
    sys.exit("%s is %dx%d, not %dx%d" % ((a,) + size(a) + want))
pa = pixels(a)
colours = len({pa[i:i + 3] for i in range(0, len(pa), 3 * 7)})
if colours < 16:
    sys.exit("%s has %d colours: a blank or flat screen" % (a, colours))
print("%s: %dx%d, %d colours (sampled)" % ((a,) + want + (colours,)))
if len(sys.argv) > 3:
    b = sys.argv[3]
    if size(b) != want:
        sys.exit("%s is %dx%d, not %dx%d" % ((b,) + size(b) + want))
    pb = pixels(b)
    off = sum(1 for i in range(0, len(pa), 3)
              if max(abs(pa[i] - pb[i]), abs(pa[i + 1] - pb[i + 1]), abs(pa[i + 2] - pb[i + 2])) > 24)
    share = off / (want[0] * want[1])
    print("%s vs %s: %.3f%% of pixels differ" % (a, b, share * 100))
    if share > 0.01:
        sys.exit("%s and %s differ in %.1f%% of pixels" % (a, b, share * 100))
