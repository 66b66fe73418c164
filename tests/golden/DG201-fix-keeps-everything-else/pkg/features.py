# pkg/features.py
