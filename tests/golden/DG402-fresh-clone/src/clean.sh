sort data/raw.csv > data/clean.csv
