from omegaconf import OmegaConf

cfg = OmegaConf.load("params.yaml")
print(cfg.train.epochs, cfg.model.depth)
