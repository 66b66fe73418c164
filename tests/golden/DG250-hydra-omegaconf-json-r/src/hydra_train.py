import hydra


@hydra.main(config_path="..", config_name="params", version_base=None)
def main(cfg):
    print(cfg.train.lr, cfg.train.epochs)


main()
