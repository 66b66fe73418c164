# src/old.py
