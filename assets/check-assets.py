#!/usr/bin/env python3
"""Checks the terminal's assets against what the UI relies on, with the
Python standard library alone (so CI needs no pip package):

  python3 assets/check-assets.py

- the fonts: TrueType outlines, family "Noto Sans SC Tillcard", Regular 400
  and Bold 700, a drawn glyph for every character of charset.txt (GB2312
  level 1 and more) and for ASCII, Latin-1, CJK punctuation and the
  full-width forms, each file under 3 MB, the OFL shipped beside them;
- the charset is current: every Chinese character in the repository's
  *.rs, *.slint, *.po, *.toml and *.md files has a drawn glyph in both
  fonts (when this fails, run assets/fonts/make-subset.sh and commit);
- the sounds: 16-bit PCM mono at 22,050 or 44,100 Hz, under 40 KB, the
  lengths and pitches the UI was promised, no hard edge (click) where a
  sound starts or stops, and byte-for-byte what make-sounds.py writes;
- assets/ stays under 8 MB.

Prints one line per check and ends with "N passed, N failed"; exits 1 when
any check failed.
"""

import math
import os
import struct
import subprocess
import sys
import tempfile
import wave

ASSETS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(ASSETS)
FONTS = os.path.join(ASSETS, "fonts")
SOUNDS = os.path.join(ASSETS, "sounds")
FAMILY = "Noto Sans SC Tillcard"
FONT_FILES = {"Regular": 400, "Bold": 700}
SOURCE_SUFFIXES = (".rs", ".slint", ".po", ".toml", ".md")


# ---------------------------------------------------------------- fonts


class Font:
    """The few tables of a TrueType file these checks read."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.tables = {}
        num_tables = struct.unpack_from(">H", self.data, 4)[0]
        self.sfnt_version = self.data[:4]
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", self.data, 12 + 16 * i)
            self.tables[tag.decode("latin-1")] = (offset, length)

    def table(self, tag):
        offset, length = self.tables[tag]
        return self.data[offset : offset + length]

    def family(self):
        """Name ID 1 of the Windows Unicode records (UTF-16BE)."""
        name = self.table("name")
        count, strings = struct.unpack_from(">2xHH", name, 0)
        for i in range(count):
            platform, encoding, _, name_id, length, offset = struct.unpack_from(
                ">HHHHHH", name, 6 + 12 * i
            )
            if platform == 3 and encoding in (1, 10) and name_id == 1:
                return name[strings + offset : strings + offset + length].decode("utf-16-be")
        return None

    def weight(self):
        return struct.unpack_from(">H", self.table("OS/2"), 4)[0]

    def cmap(self):
        """Code point -> glyph id, from the Unicode subtable (format 12 if
        present, else format 4)."""
        cmap = self.table("cmap")
        count = struct.unpack_from(">H", cmap, 2)[0]
        subtables = {}
        for i in range(count):
            platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * i)
            subtables[(platform, encoding)] = offset
        if (3, 10) in subtables:
            return self._format12(cmap, subtables[(3, 10)])
        if (3, 1) in subtables:
            return self._format4(cmap, subtables[(3, 1)])
        raise ValueError("no Windows Unicode cmap")

    @staticmethod
    def _format12(cmap, at):
        assert struct.unpack_from(">H", cmap, at)[0] == 12
        groups = struct.unpack_from(">I", cmap, at + 12)[0]
        mapping = {}
        for g in range(groups):
            start, end, glyph = struct.unpack_from(">III", cmap, at + 16 + 12 * g)
            for cp in range(start, end + 1):
                mapping[cp] = glyph + cp - start
        return mapping

    @staticmethod
    def _format4(cmap, at):
        assert struct.unpack_from(">H", cmap, at)[0] == 4
        segs = struct.unpack_from(">H", cmap, at + 6)[0] // 2
        ends = struct.unpack_from(f">{segs}H", cmap, at + 14)
        starts = struct.unpack_from(f">{segs}H", cmap, at + 16 + 2 * segs)
        deltas = struct.unpack_from(f">{segs}h", cmap, at + 16 + 4 * segs)
        range_at = at + 16 + 6 * segs
        offsets = struct.unpack_from(f">{segs}H", cmap, range_at)
        mapping = {}
        for s in range(segs):
            for cp in range(starts[s], ends[s] + 1):
                if cp == 0xFFFF:
                    continue
                if offsets[s] == 0:
                    glyph = (cp + deltas[s]) & 0xFFFF
                else:
                    where = range_at + 2 * s + offsets[s] + 2 * (cp - starts[s])
                    glyph = struct.unpack_from(">H", cmap, where)[0]
                    if glyph:
                        glyph = (glyph + deltas[s]) & 0xFFFF
                if glyph:
                    mapping[cp] = glyph
        return mapping

    def outline_lengths(self):
        """Glyph id -> bytes of glyf data (0 for a glyph with no outline)."""
        long_offsets = struct.unpack_from(">h", self.table("head"), 50)[0] == 1
        glyphs = struct.unpack_from(">H", self.table("maxp"), 4)[0]
        loca = self.table("loca")
        if long_offsets:
            offs = struct.unpack_from(f">{glyphs + 1}I", loca, 0)
        else:
            offs = [2 * o for o in struct.unpack_from(f">{glyphs + 1}H", loca, 0)]
        return [offs[i + 1] - offs[i] for i in range(glyphs)]


def read_charset():
    with open(os.path.join(FONTS, "charset.txt"), encoding="utf-8") as f:
        return {ch for ch in f.read() if not ch.isspace()}


def gb2312_level1():
    chars = set()
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, (0xF9 if hi == 0xD7 else 0xFE) + 1):
            chars.add(bytes([hi, lo]).decode("gb2312"))
    return chars


def is_cjk_ideograph(cp):
    return (
        0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3134F
    )


def source_ideographs():
    """Every CJK ideograph in the repository's sources: tracked files and
    untracked ones git does not ignore."""
    out = subprocess.run(
        ["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout
    found = {}
    for name in (n.decode("utf-8") for n in out.split(b"\0") if n):
        if not name.endswith(SOURCE_SUFFIXES):
            continue
        try:
            with open(os.path.join(REPO, name), encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            continue  # deleted in the work tree, still in the index
        for ch in text:
            if is_cjk_ideograph(ord(ch)):
                found.setdefault(ch, name)
    return found


def drawn(font):
    """The characters that map to a glyph with an outline."""
    lengths = font.outline_lengths()
    return {chr(cp) for cp, g in font.cmap().items() if g < len(lengths) and lengths[g] > 0}


def promised_ranges():
    """Printable ASCII, Latin-1 letters and signs (¥ U+00A5 among them),
    CJK symbols and punctuation, and the full-width ASCII forms and signs
    (， ： ０ Ａ ￥): the characters that must draw whatever charset.txt says.
    U+00A0 and U+3000 are spaces and have no outline."""
    cps = list(range(0x21, 0x7F)) + list(range(0xA1, 0x100))
    cps += [cp for cp in range(0x3001, 0x3040) if cp not in (0x302A, 0x302B, 0x302C, 0x302D, 0x303F)]
    cps += list(range(0xFF01, 0xFF5F)) + list(range(0xFFE0, 0xFFE7))
    return {chr(cp) for cp in cps} - {"\u00ad"}  # the soft hyphen draws nothing


def check_fonts(check):
    charset = read_charset()
    level1 = gb2312_level1()
    check("charset.txt holds all 3,755 characters of GB2312 level 1",
          not (level1 - charset), f"missing {len(level1 - charset)}: {''.join(sorted(level1 - charset)[:30])}")
    repo_chars = source_ideographs()
    stale = sorted(set(repo_chars) - charset)
    check("every Chinese character in the sources is in charset.txt", not stale,
          "not in charset.txt (run assets/fonts/make-subset.sh and commit): "
          + ", ".join(f"{ch} ({repo_chars[ch]})" for ch in stale[:20]))

    for style, weight in FONT_FILES.items():
        path = os.path.join(FONTS, f"NotoSansSC-Tillcard-{style}.ttf")
        font = Font(path)
        check(f"{style}: TrueType (glyf) outlines, no CFF",
              font.sfnt_version == b"\0\1\0\0" and "glyf" in font.tables and "CFF " not in font.tables,
              f"sfnt {font.sfnt_version!r}, tables {sorted(font.tables)}")
        check(f"{style}: family is {FAMILY!r}, weight {weight}",
              font.family() == FAMILY and font.weight() == weight,
              f"family {font.family()!r}, weight {font.weight()}")
        ink = drawn(font)
        missing = sorted(charset - ink)
        check(f"{style}: every character of charset.txt has a drawn glyph", not missing,
              f"{len(missing)} without: {''.join(missing[:30])}")
        missing = sorted(promised_ranges() - ink)
        check(f"{style}: ASCII, Latin-1, CJK punctuation and full-width forms have drawn glyphs",
              not missing, f"{len(missing)} without: {' '.join(f'U+{ord(c):04X}' for c in missing[:30])}")
        stale = sorted(set(repo_chars) - ink)
        check(f"{style}: every Chinese character in the sources has a drawn glyph", not stale,
              "no glyph (run assets/fonts/make-subset.sh and commit): "
              + ", ".join(f"{ch} ({repo_chars[ch]})" for ch in stale[:20]))
        size = os.path.getsize(path)
        check(f"{style}: under 3 MB", size < 3 * 1024 * 1024, f"{size:,} bytes")

    with open(os.path.join(FONTS, "OFL.txt"), encoding="utf-8") as f:
        ofl = f.read()
    check("OFL.txt ships the licence and the copyright notice",
          "SIL OPEN FONT LICENSE Version 1.1" in ofl and "Copyright 2014-2021 Adobe" in ofl,
          "licence text or copyright line missing")


# ---------------------------------------------------------------- sounds


def read_wav(path):
    with wave.open(path, "rb") as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getcomptype())
        raw = w.readframes(w.getnframes())
    samples = [s / 32768 for s in struct.unpack(f"<{len(raw) // 2}h", raw)]
    return params, samples


def pitch(samples, rate, start_s, end_s):
    """Frequency from upward zero crossings between two times: exact for the
    tones here, whose partials never add a crossing of their own."""
    part = samples[int(start_s * rate) : int(end_s * rate)]
    ups = [i for i in range(1, len(part)) if part[i - 1] < 0 <= part[i]]
    if len(ups) < 2:
        return 0.0
    return (len(ups) - 1) * rate / (ups[-1] - ups[0])


def bursts(samples, rate, frame_ms=5):
    """(start, end) in seconds of the stretches whose 5 ms RMS is above a
    tenth of the loudest frame's."""
    n = rate * frame_ms // 1000
    rms = [math.sqrt(sum(v * v for v in samples[i : i + n]) / n) for i in range(0, len(samples) - n + 1, n)]
    loud = max(rms)
    spans, start = [], None
    for i, r in enumerate(rms + [0.0]):
        if r > loud / 10 and start is None:
            start = i
        elif r <= loud / 10 and start is not None:
            spans.append((start * n / rate, i * n / rate))
            start = None
    return spans


def hard_edges(samples, rate):
    """Where a sound starts from silence (or the file's start) or stops into
    silence (or the file's end) at more than a quarter of its peak within
    1 ms: an audible click. Returns the times in seconds."""
    quiet = 0.002
    peak = max(abs(v) for v in samples)
    ms = rate // 1000
    edges = []
    for direction in (1, -1):
        seq = samples if direction == 1 else samples[::-1]
        silent = True  # the file's edge counts as silence
        for i, v in enumerate(seq):
            if silent and abs(v) > quiet:
                if max(abs(x) for x in seq[i : i + ms]) > peak / 4:
                    t = i if direction == 1 else len(seq) - 1 - i
                    edges.append(round(t / rate, 4))
                silent = False
            elif not silent and all(abs(x) <= quiet for x in seq[max(0, i - 2 * ms) : i + 1]):
                silent = True
    return edges


def check_sounds(check):
    specs = {
        "scan-good.wav": (0.080, 0.120),
        "scan-bad.wav": (0.250, 0.350),
        "confirm.wav": (0.300, 0.800),
    }
    loaded = {}
    for name, (shortest, longest) in specs.items():
        path = os.path.join(SOUNDS, name)
        (channels, width, rate, comp), samples = read_wav(path)
        loaded[name] = (rate, samples)
        check(f"{name}: 16-bit PCM mono at 22,050 or 44,100 Hz",
              (channels, width, comp) == (1, 2, "NONE") and rate in (22050, 44100),
              f"{channels} channels, {8 * width} bits, {rate} Hz, {comp}")
        size = os.path.getsize(path)
        check(f"{name}: under 40 KB", size < 40 * 1024, f"{size:,} bytes")
        seconds = len(samples) / rate
        check(f"{name}: {shortest * 1000:.0f}-{longest * 1000:.0f} ms long",
              shortest <= seconds <= longest, f"{seconds * 1000:.0f} ms")
        edges = hard_edges(samples, rate)
        check(f"{name}: no click where it starts or stops", not edges, f"hard edges at {edges} s")

    rate, good = loaded["scan-good.wav"]
    f_good = pitch(good, rate, 0.02, 0.08)
    check("scan-good.wav: a bright beep at 1.5-2 kHz", 1500 <= f_good <= 2000, f"{f_good:.0f} Hz")

    rate, bad = loaded["scan-bad.wav"]
    spans = bursts(bad, rate)
    check("scan-bad.wav: a double buzz (two bursts with a gap)",
          len(spans) == 2 and spans[1][0] - spans[0][1] >= 0.030, f"bursts {spans}")
    if spans:
        start, end = spans[0]
        f_bad = pitch(bad, rate, start + 0.01, end - 0.01)
        check("scan-bad.wav: lower than the good beep (under 1 kHz)", 0 < f_bad < 1000 and f_bad < f_good / 2,
              f"{f_bad:.0f} Hz against {f_good:.0f} Hz")

    rate, chime = loaded["confirm.wav"]
    first = pitch(chime, rate, 0.01, 0.12)
    # The second note starts at 130 ms: its 5 ms frames must be louder than
    # the first note's decay just before it.
    def rms(a, b):
        part = chime[int(a * rate) : int(b * rate)]
        return math.sqrt(sum(v * v for v in part) / len(part))
    check("confirm.wav: a two-note chime (a tone, then a second onset)",
          700 <= first <= 900 and rms(0.135, 0.145) > 1.3 * rms(0.115, 0.125),
          f"first note {first:.0f} Hz, RMS before/after 130 ms {rms(0.115, 0.125):.3f}/{rms(0.135, 0.145):.3f}")
    loudest = {name: max(abs(v) for v in s) for name, (_, s) in loaded.items()}
    check("confirm.wav: softer than the scan sounds",
          loudest["confirm.wav"] < min(loudest["scan-good.wav"], loudest["scan-bad.wav"]),
          f"peaks {loudest}")

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(SOUNDS, "make-sounds.py"), tmp],
                       check=True, capture_output=True)
        differ = []
        for name in specs:
            with open(os.path.join(tmp, name), "rb") as a, open(os.path.join(SOUNDS, name), "rb") as b:
                if a.read() != b.read():
                    differ.append(name)
    check("the sounds are exactly what make-sounds.py writes", not differ,
          f"differ: {differ} (run python3 assets/sounds/make-sounds.py and commit)")


def check_total(check):
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ASSETS) for f in fs)
    check("assets/ under 8 MB", total < 8 * 1024 * 1024, f"{total:,} bytes")


def main():
    passed = failed = 0

    def check(name, ok, detail):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok     {name}")
        else:
            failed += 1
            print(f"FAILED {name}: {detail}")

    for group in (check_fonts, check_sounds, check_total):
        try:
            group(check)
        except Exception as e:  # a missing or corrupt file fails its group, loudly
            check(f"{group.__name__} ran to the end", False, f"{type(e).__name__}: {e}")
    print(f"assets: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
