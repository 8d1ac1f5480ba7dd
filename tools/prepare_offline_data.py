"""Gather the training data that exists without internet into one folder.

    python tools/prepare_offline_data.py [--output training_dataset/offline]
        [--opencv-doc /usr/share/doc/opencv-doc] [--min-side 160]

Sources (install the second with `apt-get install opencv-doc`):
  * scikit-image's photographs are read in place by the trainer (ROOT "skimage");
  * Debian's opencv-doc: its photographs (examples/ and the JPEG figures of the HTML
    manual) are copied to <output>/stills/, and its videos (vtest.avi, Megamind.avi,
    tree.avi, box.mp4.gz, cup.mp4.gz) are decoded to <output>/videos/<name>/%05d.jpg,
    which the trainer reads by random access (seeking in a compressed video is slow).

Images whose shorter side is below --min-side are skipped (icons, glyphs); so are files
that do not decode, and Megamind_bugy.avi (a deliberately broken copy of Megamind.avi).
The folder then feeds `tools/train.py --config experiments/offline/rasnet.yaml`.
Idempotent: files already present are kept, so a rerun after a crash finishes the job.
"""
import argparse
import gzip
import hashlib
import os
import shutil
import sys
import tempfile

import cv2

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_NAMES = ("vtest.avi", "Megamind.avi", "tree.avi", "box.mp4.gz", "cup.mp4.gz")


def find_files(root, names=None, exts=None):
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if (names and f in names) or (exts and f.lower().endswith(exts)):
                yield os.path.join(d, f)


def still_name(path, root):
    """A flat, unique, stable file name for an image found under root."""
    rel = os.path.relpath(path, root)
    stem, ext = os.path.splitext(os.path.basename(rel))
    tag = hashlib.sha1(rel.encode()).hexdigest()[:8]
    return "%s_%s%s" % (stem, tag, ext.lower())


def copy_stills(doc_root, out_dir, min_side):
    """Copy the photographs of opencv-doc; returns (kept, skipped)."""
    os.makedirs(out_dir, exist_ok=True)
    kept = skipped = 0
    html = os.path.join(doc_root, "opencv4", "html")
    for path in find_files(doc_root, exts=IMAGE_EXTS):
        # the HTML manual's PNGs are diagrams and plots; its JPEGs are photographs
        if path.startswith(html) and not path.lower().endswith((".jpg", ".jpeg")):
            continue
        dst = os.path.join(out_dir, still_name(path, doc_root))
        if os.path.exists(dst):
            kept += 1
            continue
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None or min(img.shape[:2]) < min_side:
            skipped += 1
            continue
        shutil.copyfile(path, dst + ".tmp")
        os.replace(dst + ".tmp", dst)
        kept += 1
    return kept, skipped


def decode_video(path, out_dir):
    """Write every frame of a (possibly gzipped) video as JPEG; returns the frame count."""
    done = os.path.join(out_dir, ".complete")
    if os.path.exists(done):
        return len([f for f in os.listdir(out_dir) if f.endswith(".jpg")])
    os.makedirs(out_dir, exist_ok=True)
    tmp = None
    try:
        if path.endswith(".gz"):
            fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(path[:-3])[1])
            with os.fdopen(fd, "wb") as f, gzip.open(path, "rb") as g:
                shutil.copyfileobj(g, f)
            path = tmp
        cap = cv2.VideoCapture(path)
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            cv2.imwrite(os.path.join(out_dir, "%05d.jpg" % n), frame,
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            n += 1
        cap.release()
    finally:
        if tmp:
            os.remove(tmp)
    if n < 2:
        raise RuntimeError("%s: fewer than 2 frames decoded" % path)
    open(done, "w").close()
    return n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--output", default="training_dataset/offline")
    p.add_argument("--opencv-doc", default="/usr/share/doc/opencv-doc")
    p.add_argument("--min-side", type=int, default=160)
    args = p.parse_args(argv)
    if not os.path.isdir(args.opencv_doc):
        print("error: %s not found; install it with `apt-get install opencv-doc`"
              % args.opencv_doc, file=sys.stderr)
        return 1
    kept, skipped = copy_stills(args.opencv_doc, os.path.join(args.output, "stills"),
                                args.min_side)
    print("stills: %d images in %s (%d skipped: unreadable or smaller than %d px)"
          % (kept, os.path.join(args.output, "stills"), skipped, args.min_side))
    found = {os.path.basename(f): f for f in find_files(args.opencv_doc, names=VIDEO_NAMES)}
    for name in VIDEO_NAMES:
        if name not in found:
            print("warning: video %s not found under %s" % (name, args.opencv_doc))
            continue
        stem = name.split(".")[0]
        try:
            n = decode_video(found[name], os.path.join(args.output, "videos", stem))
        except (RuntimeError, OSError, cv2.error) as e:
            print("warning: %s skipped: %s" % (name, e))
            continue
        print("video %s: %d frames" % (stem, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
