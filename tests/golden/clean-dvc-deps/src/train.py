# src/train.py
