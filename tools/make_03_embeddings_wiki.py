"""Build solutions/phase4-nlp/data/03-embeddings-wiki.txt.gz, once, from gensim's bundled test data.

gensim 4.4.0 ships the first 106 articles of an English Wikipedia dump (Anarchism, Autism,
Albedo, ...) as ``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``.
Stripping its wiki markup with gensim's own ``filter_wiki`` takes about 9 s, too long for
every notebook run, so this script does it once and writes one paragraph per line,
lower-cased and tokenised with the notebook's regular expression, redirects and paragraphs
of fewer than four words left out. Wikipedia's text is licensed CC BY-SA (see
data/SOURCES.md). Run: .venv/bin/python tools/make_03_embeddings_wiki.py
"""

from __future__ import annotations

import bz2
import gzip
import re
from pathlib import Path

from gensim.corpora.wikicorpus import extract_pages, filter_wiki
from gensim.test.utils import datapath

DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
OUT = Path(__file__).resolve().parents[1] / "solutions" / "phase4-nlp" / "data" / "03-embeddings-wiki.txt.gz"
TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")


def main() -> None:
    lines = []
    with bz2.open(datapath(DUMP)) as dump:
        for _title, text, _page_id in extract_pages(dump):
            if text.lower().startswith("#redirect"):
                continue
            for paragraph in filter_wiki(text).split("\n"):
                tokens = TOKEN.findall(paragraph.lower())
                if len(tokens) >= 4:
                    lines.append(" ".join(tokens))
    # mtime=0: the same input gives the same bytes
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"{OUT}: {len(lines)} paragraphs, {sum(len(line.split()) for line in lines)} tokens")


if __name__ == "__main__":
    main()
