"""Small test images shared by the training tests."""
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
