from lightning.pytorch.loggers import MLFlowLogger

logger = MLFlowLogger(experiment_name="churn-tuning")
