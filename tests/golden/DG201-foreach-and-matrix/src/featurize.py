# src/featurize.py
