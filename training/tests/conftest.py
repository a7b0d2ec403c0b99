import os
import sys

import torch

# Keep the suite light on the shared 2-core box.
torch.set_num_threads(1)
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
