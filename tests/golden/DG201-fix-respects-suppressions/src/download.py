print("download")
