"""Small test images and configs shared by the training tests."""
import cv2
import numpy as np


def write_textured_images(folder, count=6, shape=(150, 190)):
    """`count` smooth random textures (photo0.jpg, ...), different per index."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        n = np.random.default_rng(k).random((*shape, 3)).astype(np.float32)
        n = cv2.GaussianBlur(n, (0, 0), 2.5)
        n = (255 * (n - n.min()) / (n.max() - n.min())).astype(np.uint8)
        cv2.imwrite(str(folder / ("photo%d.jpg" % k)), n)
    return folder


def write_tiny_train_config(path, images, pairs_per_epoch, num_workers):
    """A 2-epoch training config on the still images in `images`, a checkpoint every step."""
    path.write_text("""
TRAIN:
  EPOCH: 2
  PAIRS_PER_EPOCH: %d
  BATCH_SIZE: 2
  VAL_PAIRS: 2
  VAL_FRACTION: 0.2
  NUM_WORKERS: %d
  CHECKPOINT_INTERVAL: 1
  LOG_INTERVAL: 1
  DATASETS:
    NAMES: [STILL]
    STILL:
      ROOT: %s
""" % (pairs_per_epoch, num_workers, images))
    return path
