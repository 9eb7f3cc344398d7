#!/usr/bin/env python3
"""Helpers for make-subset.sh: the character list, the face in Debian's
collection, and the CFF -> TrueType conversion of the subset.

Subcommands:
  charset --out FILE [--extra FILE] ROOT...
      Writes FILE: GB2312 level 1 (3,755 characters), every CJK ideograph
      found in ROOT's *.rs, *.slint, *.po, *.toml and *.md files (tracked and
      untracked, not ignored), the characters listed in --extra, and every
      character already in FILE (characters are only ever added, so a re-run
      in a clean clone never drops one an earlier run found).
  face-index TTC FAMILY
      Prints the index of the face named FAMILY in the collection TTC.
  to-ttf IN OUT --family NAME
      Converts IN (CFF-flavoured OpenType) to TrueType (glyf) outlines and
      renames its family to NAME. The output is byte-for-byte reproducible:
      no timestamp of the run goes into it.
  verify FONT CHARSET RANGES SOURCE FACE
      Fails (exit 1) unless FONT has glyf outlines and maps every character
      of CHARSET and every character of RANGES (pyftsubset's --unicodes
      syntax) that face FACE of SOURCE maps.

Needs fontTools (pip install fonttools) for face-index, to-ttf and verify;
charset uses only the standard library.
"""

import argparse
import os
import subprocess
import sys

SOURCE_SUFFIXES = (".rs", ".slint", ".po", ".toml", ".md")
SKIP_DIRS = {".git", "target", "node_modules"}


def is_cjk_ideograph(cp):
    """Han characters: the unified blocks, extension A, compatibility
    ideographs, and the supplementary planes' extensions B onwards."""
    return (
        0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3134F
    )


def gb2312_level1():
    """The 3,755 level-1 hanzi of GB2312: rows 16-55 (bytes 0xB0-0xD7),
    94 cells a row, row 55 ending at 0xD7F9."""
    chars = []
    for hi in range(0xB0, 0xD8):
        last = 0xF9 if hi == 0xD7 else 0xFE
        for lo in range(0xA1, last + 1):
            chars.append(bytes([hi, lo]).decode("gb2312"))
    if len(chars) != 3755:
        raise SystemExit(f"GB2312 level 1 should have 3755 characters, got {len(chars)}")
    return chars


def source_files(root):
    """The sources under ROOT: git's tracked and untracked-not-ignored files
    when ROOT is a work tree, else a walk that skips build output."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout
        names = [n.decode("utf-8") for n in out.split(b"\0") if n]
        return [os.path.join(root, n) for n in names if n.endswith(SOURCE_SUFFIXES)]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            found += [os.path.join(dirpath, f) for f in filenames if f.endswith(SOURCE_SUFFIXES)]
        return found


def ideographs_in(root):
    found = set()
    for path in source_files(root):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue  # a deleted file still listed by git, or a binary file
        found.update(ch for ch in text if is_cjk_ideograph(ord(ch)))
    return found


def read_extra(path):
    """Every non-blank character of the extra list; lines starting with '#'
    are comments."""
    chars = set()
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.lstrip().startswith("#"):
                    continue
                chars.update(ch for ch in line if not ch.isspace())
    return chars


def cmd_charset(args):
    level1 = set(gb2312_level1())
    repo = set()
    for root in args.roots:
        repo |= ideographs_in(root)
    extra = read_extra(args.extra)
    previous = set()
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            previous = {ch for ch in f.read() if not ch.isspace()}
    chars = sorted(level1 | repo | extra | previous, key=ord)
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(0, len(chars), 50):
            f.write("".join(chars[i : i + 50]) + "\n")
    outside = sorted(repo - level1, key=ord)
    added = sorted(set(chars) - previous, key=ord) if previous else []
    print(f"charset: {len(chars)} characters ({len(level1)} GB2312 level 1, "
          f"{len(repo)} ideographs in the sources, {len(outside)} of them outside level 1: "
          f"{''.join(outside) or '-'}; {len(extra)} from the extra list)")
    if previous:
        print(f"charset: {len(added)} added since the last run: {''.join(added) or '-'}")


def cmd_face_index(args):
    from fontTools.ttLib import TTCollection

    collection = TTCollection(args.ttc, lazy=True)
    for i, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == args.family:
            print(i)
            return
    raise SystemExit(f"{args.ttc}: no face named {args.family!r}")


def cmd_to_ttf(args):
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(args.input, recalcTimestamp=False)
    if font.sfntVersion != "OTTO" or "CFF " not in font:
        raise SystemExit(f"{args.input}: not a CFF-flavoured OpenType font")

    # Cubic -> quadratic curves, as fontTools' otf2ttf recipe: an error of at
    # most 1 unit in a 1000-unit em (invisible at any size the counter uses),
    # contours reversed because TrueType winds the other way from CFF.
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        tt_pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(tt_pen, 1.0, reverse_direction=True))
        glyphs[name] = tt_pen.glyph()

    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del font["CFF "]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)

    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    maxp.maxTwilightPoints = 0
    maxp.maxStorage = 0
    maxp.maxFunctionDefs = 0
    maxp.maxInstructionDefs = 0
    maxp.maxStackElements = 0
    maxp.maxSizeOfInstructions = 0
    maxp.maxComponentElements = 0
    maxp.compile(font)

    # Glyph names are not needed to draw text; format 3 leaves them out.
    post = font["post"]
    post.formatType = 3.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order
    font.sfntVersion = "\0\1\0\0"

    # pyftsubset stamped the time of the run; the source's creation date
    # keeps the output identical from one run to the next.
    font["head"].modified = font["head"].created
    rename(font, args.family)
    font.save(args.output)


def rename(font, family):
    """Gives the subset its own family name (so it can never be mistaken for
    a full Noto Sans CJK SC installed on the machine), keeping the copyright,
    trademark, designer and licence records."""
    name = font["name"]
    style = name.getDebugName(2) or "Regular"
    version = name.getDebugName(5) or ""
    keep = {0, 7, 8, 9, 10, 11, 12, 13, 14}
    name.names = [
        r for r in name.names
        if r.nameID in keep and r.platformID == 3 and r.langID == 0x409
    ]
    postscript = family.replace(" ", "") + "-" + style.replace(" ", "")
    name.setName(family, 1, 3, 1, 0x409)
    name.setName(style, 2, 3, 1, 0x409)
    name.setName(f"{postscript};subset for Tillcard", 3, 3, 1, 0x409)
    name.setName(f"{family} {style}", 4, 3, 1, 0x409)
    name.setName(f"{version}; subset for Tillcard", 5, 3, 1, 0x409)
    name.setName(postscript, 6, 3, 1, 0x409)
    name.names.sort(key=lambda r: (r.platformID, r.platEncID, r.langID, r.nameID))


def parse_ranges(spec):
    cps = set()
    for part in spec.split(","):
        part = part.strip().upper().removeprefix("U+")
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cps.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return cps


def cmd_verify(args):
    from fontTools.ttLib import TTFont

    font = TTFont(args.font)
    cmap = font.getBestCmap()
    with open(args.charset, encoding="utf-8") as f:
        promised = {ord(ch) for ch in f.read() if not ch.isspace()}
    # The ranges hold unassigned code points and cells the source font never
    # had (halfwidth Hangul, say): only what the source maps must be kept.
    source_cmap = TTFont(args.source, fontNumber=args.face, lazy=True).getBestCmap()
    promised |= {cp for cp in parse_ranges(args.ranges) if cp in source_cmap}
    missing = sorted(cp for cp in promised if cp not in cmap)
    problems = []
    if "glyf" not in font or "CFF " in font:
        problems.append("outlines are not TrueType (glyf)")
    if missing:
        sample = "".join(chr(cp) for cp in missing[:40])
        problems.append(f"{len(missing)} characters have no glyph: {sample}")
    for p in problems:
        print(f"{args.font}: {p}", file=sys.stderr)
    print(f"{os.path.basename(args.font)}: {len(cmap)} characters mapped, family "
          f"{font['name'].getDebugName(1)!r}, {os.path.getsize(args.font):,} bytes")
    if problems:
        raise SystemExit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("charset")
    p.add_argument("--out", required=True)
    p.add_argument("--extra")
    p.add_argument("roots", nargs="+")
    p.set_defaults(run=cmd_charset)
    p = sub.add_parser("face-index")
    p.add_argument("ttc")
    p.add_argument("family")
    p.set_defaults(run=cmd_face_index)
    p = sub.add_parser("to-ttf")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--family", required=True)
    p.set_defaults(run=cmd_to_ttf)
    p = sub.add_parser("verify")
    p.add_argument("font")
    p.add_argument("charset")
    p.add_argument("ranges")
    p.add_argument("source", help="the collection the subset was made from")
    p.add_argument("face", type=int, help="the face's index in SOURCE")
    p.set_defaults(run=cmd_verify)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
