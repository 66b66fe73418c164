def fit():
    pass
