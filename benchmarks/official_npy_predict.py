#!/usr/bin/python3
"""Times the official MALUNet model end to end on a preprocessed .npy batch file, as `malunet predict X.npy` does:
load the N x 3 x 256 x 256 float32 array, run it in batches without gradients, write the N x 1 x 256 x 256
probabilities. The model comes from a checkout of the official code (github JCruan519/MALUNet), given as the first
argument; nothing of it is in this repository. Weights: our bundled ones exported with `malunet export --format pth`.

Run with Debian's Python (apt-get install python3-torch python3-numpy):
    ./malunet export --format pth --output /tmp/malunet.pth
    /usr/bin/python3 benchmarks/official_npy_predict.py OFFICIAL_CHECKOUT /tmp/malunet.pth X.npy Y.npy [batch] [threads]
The official models/malunet.py imports timm only for trunc_normal_ (initialisation); without timm, alias
torch.nn.init.trunc_normal_ in its place.
"""
import sys
import time

import numpy as np
import torch

sys.path.insert(0, sys.argv[1])
from models.malunet import MALUNet  # noqa: E402  (the official code)

weights, src, dst = sys.argv[2], sys.argv[3], sys.argv[4]
batch = int(sys.argv[5]) if len(sys.argv) > 5 else 8
torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 2)

start = time.perf_counter()
model = MALUNet()
model.load_state_dict(torch.load(weights))
model.eval()
x = torch.from_numpy(np.load(src))
outputs = []
with torch.no_grad():
    for i in range(0, x.shape[0], batch):
        outputs.append(model(x[i:i + batch]))
np.save(dst, torch.cat(outputs).numpy())
elapsed = time.perf_counter() - start
print(f"official: {x.shape[0]} images in {elapsed:.2f} s = {x.shape[0] / elapsed:.1f} images/s (batch {batch}, "
      f"{torch.get_num_threads()} threads, including loading the model and the files)")
