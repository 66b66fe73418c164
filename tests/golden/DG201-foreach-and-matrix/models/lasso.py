# models/lasso.py
