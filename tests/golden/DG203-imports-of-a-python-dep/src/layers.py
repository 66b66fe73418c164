dense = 1
