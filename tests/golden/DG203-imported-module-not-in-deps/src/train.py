import json

import numpy as np  # installed: not the project's code

from features.build import build_features
from utils import load
