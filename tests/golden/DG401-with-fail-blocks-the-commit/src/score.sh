wc -c model.txt > score.txt
