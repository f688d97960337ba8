#!/usr/bin/python3
"""Times the per-sample data path of the official MALUNet training loader on this machine.

The official train.py uses a DataLoader with num_workers = 0 (configs/config_setting.py), so this work runs serially
between training steps. Per sample it: opens the JPEG and the full-resolution mask PNG with PIL, converts them to
numpy (the mask divided by 255 into float64), standardises and min-max scales the image in float64, turns both into
tensors, flips each with p 0.5, rotates with p 0.5 (torchvision.transforms.functional.rotate), and resizes image and
mask to 256x256 (functional.resize). This script re-creates those steps (it is not the official code) and reports the
mean seconds per sample, from which an end-to-end step time follows: 8 x load + compute.

Run with Debian's Python (apt-get install python3-torch python3-torchvision python3-pil):
    /usr/bin/python3 benchmarks/official_data_loading.py ../shared/data/isic2017 200
"""
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

torch.set_num_threads(2)
root = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/isic2017'
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
split = json.load(open(os.path.join(root, 'splits', 'malunet_7to3_seed42.json')))
ids = split['train'][:count]


def paths(i):
    for d, g in [('ISIC-2017_Training_Data', 'ISIC-2017_Training_Part1_GroundTruth'),
                 ('ISIC-2017_Validation_Data', 'ISIC-2017_Validation_Part1_GroundTruth')]:
        p = os.path.join(root, d, i + '.jpg')
        if os.path.exists(p):
            return p, os.path.join(root, g, i + '_segmentation.png')
    raise FileNotFoundError(i)


rng = random.Random(42)
angle = rng.uniform(0, 360)
start = time.perf_counter()
for i in ids:
    ip, mp = paths(i)
    img = np.array(Image.open(ip).convert('RGB'))
    msk = np.expand_dims(np.array(Image.open(mp).convert('L')), axis=2) / 255
    img = (img - 157.561) / 26.706
    img = (img - img.min()) / (img.max() - img.min()) * 255.
    img, msk = torch.tensor(img).permute(2, 0, 1), torch.tensor(msk).permute(2, 0, 1)
    if rng.random() < 0.5: img, msk = TF.hflip(img), TF.hflip(msk)
    if rng.random() < 0.5: img, msk = TF.vflip(img), TF.vflip(msk)
    if rng.random() < 0.5: img, msk = TF.rotate(img, angle), TF.rotate(msk, angle)
    img, msk = TF.resize(img, [256, 256]), TF.resize(msk, [256, 256])
    img.float(), msk.float()
elapsed = time.perf_counter() - start
per = elapsed / len(ids)
compute = 0.33  # s per batch-8 step of the official code on this machine (issue #3)
print(f'official data path: {per * 1000:.1f} ms per sample over {len(ids)} samples')
print(f'official end-to-end estimate: {8 * per + compute:.2f} s per batch of 8 = {8 / (8 * per + compute):.1f} images/s '
      f'(compute {compute} s + loading {8 * per:.2f} s)')
