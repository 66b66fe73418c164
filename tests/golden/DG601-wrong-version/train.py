print("no tracking here")
