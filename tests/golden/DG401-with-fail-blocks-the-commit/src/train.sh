cat params.yaml > model.txt
