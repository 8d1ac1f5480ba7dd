"""Folder snapshots for tests that compare what a run left on disk."""
import os


def read_tree(folder):
    """{relative path: bytes} of every file under folder."""
    files = {}
    for d, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, folder)] = f.read()
    return files
