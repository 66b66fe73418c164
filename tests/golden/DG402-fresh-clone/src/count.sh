wc -l data/clean.csv > rows.txt
