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
import os
import sys

from ..training.offline_data import gather_opencv_doc


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
    gather_opencv_doc(args.opencv_doc, args.output, args.min_side)
    return 0
