#!/usr/bin/env bash
# Rebuilds the terminal's CJK font: a subset of Noto Sans CJK SC (Regular and
# Bold) with TrueType outlines, family "Noto Sans SC Tillcard".
#
#   assets/fonts/make-subset.sh [EXTRA_ROOT...]
#
# 1. Regenerates charset.txt: GB2312 level 1, every Chinese character in this
#    repository's *.rs, *.slint, *.po, *.toml and *.md files (and in any
#    EXTRA_ROOT given, e.g. another work tree), the characters of
#    extra-chars.txt, and everything charset.txt already held.
# 2. Subsets the SC face of Debian's fonts-noto-cjk to charset.txt plus the
#    fixed ranges below, converts it from CFF to TrueType outlines, renames it,
#    and checks that every promised character has a glyph.
#
# Needs (developer tools, not build dependencies of the project):
#   apt-get install fonts-noto-cjk      # the source font
#   pip install fonttools               # pyftsubset and the conversion
# The output is reproducible: the same inputs and fontTools version give the
# same bytes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
source_dir=${NOTO_CJK_DIR:-/usr/share/fonts/opentype/noto}
family="Noto Sans SC Tillcard"

# Always kept, whatever charset.txt says: ASCII, Latin-1 (with ¥ U+00A5,
# × and ·), the punctuation Chinese text and Slint's elision use (– — ‘ ’ “ ”
# • … ‰ ※), arrows, minus, ≤ ≥, CJK symbols and punctuation (、。〈〉《》「」
# 【】〇), and the full-width forms (，：；！？（）０-９ ￥).
ranges="U+0020-007E,U+00A0-00FF,U+2010-2027,U+2030-203B,U+2190-2193,U+2212,U+2264-2265,U+3000-303F,U+FF00-FFEF"

for tool in python3 pyftsubset; do
    command -v "$tool" >/dev/null || { echo "make-subset: $tool not found (pip install fonttools)" >&2; exit 1; }
done

python3 "$here/subset_tools.py" charset \
    --out "$here/charset.txt" --extra "$here/extra-chars.txt" "$repo" "$@"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for weight in Regular Bold; do
    ttc="$source_dir/NotoSansCJK-$weight.ttc"
    [ -f "$ttc" ] || { echo "make-subset: $ttc not found (apt-get install fonts-noto-cjk)" >&2; exit 1; }
    face=$(python3 "$here/subset_tools.py" face-index "$ttc" "Noto Sans CJK SC")
    # Vertical-layout tables are dropped (Slint lays text out horizontally);
    # .notdef keeps its box so a character missing from the subset shows as
    # a box, not a gap, when no fallback font has it either.
    pyftsubset "$ttc" --font-number="$face" \
        --text-file="$here/charset.txt" --unicodes="$ranges" \
        --name-IDs='*' --notdef-outline --no-hinting \
        --drop-tables+=VORG,vhea,vmtx,BASE \
        --output-file="$tmp/$weight.otf"
    out="$here/NotoSansSC-Tillcard-$weight.ttf"
    python3 "$here/subset_tools.py" to-ttf "$tmp/$weight.otf" "$out" --family "$family"
    python3 "$here/subset_tools.py" verify "$out" "$here/charset.txt" "$ranges" "$ttc" "$face"
done

dpkg-query -W -f='source: Debian ${Package} ${Version}\n' fonts-noto-cjk 2>/dev/null || true
python3 -c 'import fontTools; print("fontTools", fontTools.version)'
