print("the experiment comes from the environment")
