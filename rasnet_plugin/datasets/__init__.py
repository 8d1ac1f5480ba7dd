"""Tracking datasets: PySOT-JSON, OTB and VOT layouts, and a bundled offline benchmark.

    ds = load_dataset("OTB100")            # testing_dataset/OTB100/OTB100.json
    ds = load_dataset("/data/VOT2018")      # any folder: layout is detected
    for video in ds:
        frame = video.load_frame(0)         # BGR uint8
        box = video.init_rect               # [x, y, w, h]

    ds, broken = load_dataset_lenient(path) # the videos that load, [(video, why)] for the rest
"""
from .bundled import BUNDLED_NAME, ensure_bundled, export_vot
from .lenient import load_dataset_lenient
from .loaders import detect_layout, load_dataset, read_gt_file, sequence_names
from .video import Dataset, DatasetError, Video, polygons_to_xywh, read_frame

__all__ = ["load_dataset", "load_dataset_lenient", "Dataset", "Video", "DatasetError", "ensure_bundled", "BUNDLED_NAME",
           "export_vot", "detect_layout", "read_gt_file", "sequence_names", "read_frame", "polygons_to_xywh"]
