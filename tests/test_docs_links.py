"""Every relative link in README.md and docs/*.md points at a file that exists, and every
#anchor at a heading of that file (GitHub's slugs)."""
import glob
import os
import re

import pytest

from rasnet_plugin.config import REPO_ROOT

DOCS = [os.path.join(REPO_ROOT, "README.md")] + sorted(glob.glob(os.path.join(REPO_ROOT, "docs", "*.md")))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def anchors(path):
    with open(path) as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, flags=re.M)}


def test_slug_by_hand():
    assert slug("`rasnet-bench` (`tools/bench.py`): tracker speed") == "rasnet-bench-toolsbenchpy-tracker-speed"
    assert slug("Against siamfc-pytorch, quiet and under load") == "against-siamfc-pytorch-quiet-and-under-load"


@pytest.mark.parametrize("doc", DOCS, ids=os.path.basename)
def test_relative_links_resolve(doc):
    with open(doc) as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):          # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if not os.path.exists(dest):
            broken.append(target)
        elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
            broken.append(target)
    assert not broken, broken
