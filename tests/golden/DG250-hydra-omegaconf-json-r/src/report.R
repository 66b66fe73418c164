params <- yaml::read_yaml("params.yaml")
depth <- params$model$depth
rate <- params[["train"]][["lr"]]
# params$train$epochs is only a comment
