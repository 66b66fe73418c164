from src.tracking import log_run

log_run({"auc": 0.9})
