# models/ridge.py
