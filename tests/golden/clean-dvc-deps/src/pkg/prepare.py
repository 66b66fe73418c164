# src/pkg/prepare.py
