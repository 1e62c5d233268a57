"""Build phase 4's text corpus from Debian's fortune files.

Run once after `apt-get install fortunes fortunes-min fortunes-de fortunes-es fortunes-it`;
the output is shipped in the repository, so nothing reads /usr/share/games at run time:

    python tools/make_fortunes_corpus.py solutions/phase4-nlp/data/fortunes.csv.gz

Each row is one fortune: ``lang`` (en, de, es, it), ``topic`` (the file it came from) and
``text``. Left out: ASCII art and banners (not prose), the ``off`` folders of offensive
fortunes, and two English files of ethnic and gender jokes that a course should not teach
from. Texts are whitespace-normalised, at most 500 characters, and deduplicated within a
language; German, Spanish and Italian are capped at 6,000 each (a stable spread).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import re
from pathlib import Path

ROOT = Path("/usr/share/games/fortunes")
LANGS = {"en": ROOT, "de": ROOT / "de", "es": ROOT / "es", "it": ROOT / "it"}
SKIP = {"art", "ascii-art", "asciiart", "banner", "ethnic", "men-women"}
MAX_CHARS = 500  # longer ones are stories and lists, not the short texts the notebooks model
OTHER_LANGUAGE_CAP = 6000  # German, Spanish, Italian serve language identification only


def fortunes(path: Path) -> list[str]:
    raw = path.read_bytes().decode("utf-8", errors="replace")
    texts = []
    for block in re.split(r"\n%\n", raw):
        text = re.sub(r"\s+", " ", block.replace("\x1b", "")).strip()
        if 20 <= len(text) <= MAX_CHARS and "\ufffd" not in text:
            texts.append(text)
    return texts


def rows() -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for lang, folder in LANGS.items():
        seen: set[str] = set()
        kept: list[tuple[str, str, str]] = []
        for path in sorted(folder.iterdir()):
            name = path.name
            if path.is_dir() or path.is_symlink() or name.endswith((".dat", ".u8")):
                continue
            topic = name.removesuffix(".fortunes")
            if topic in SKIP or name.endswith("-pre"):
                continue
            for text in fortunes(path):
                if text not in seen:
                    seen.add(text)
                    kept.append((lang, topic, text))
        if lang != "en":  # a spread over every file: sorted by a stable hash, the first ones
            kept = sorted(kept, key=lambda row: hashlib.sha256(row[2].encode()).hexdigest())
            kept = sorted(kept[:OTHER_LANGUAGE_CAP], key=lambda row: row[1])
        out.extend(kept)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["lang", "topic", "text"])
    data = rows()
    writer.writerows(data)
    args.output.write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
    print(f"{args.output}: {len(data)} fortunes")


if __name__ == "__main__":
    main()
