# src/prepare.py
