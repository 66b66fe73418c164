#!/usr/bin/env bash
set -euo pipefail
python src/features.py "$1" features.csv
python src/train.py features.csv model.pkl
