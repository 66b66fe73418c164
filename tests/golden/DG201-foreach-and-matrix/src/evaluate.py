# src/evaluate.py
