# The two commands of the README: `make demo` and `make test`.
# bash for `time` with TIMEFORMAT: each demo step says how long it took.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
CKSUM := $(shell cksum < pyproject.toml | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(CKSUM)
# The demo needs only the `demo` extra (DVC, MLflow, the model's libraries), not the
# test tools; a venv that has everything (STAMP) has that too.
DEMO_STAMP := $(VENV)/.installed-demo-$(CKSUM)
PYTHON_CHECK := python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "Python 3.10 or newer is needed"; exit 2; }
TOOK := TIMEFORMAT='    took %1R s'

.PHONY: install demo test lint unit docs clean

$(STAMP): pyproject.toml
	@$(PYTHON_CHECK)
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[demo,test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

$(DEMO_STAMP): pyproject.toml
	@$(PYTHON_CHECK)
	@if [ -f "$(STAMP)" ]; then touch "$@"; exit 0; fi; \
	echo "==> install: $(VENV) with dvc-gitops and the demo's packages (dvc, mlflow, scikit-learn, pandas, pyarrow; a few minutes the first time)"; \
	$(TOOK); time { test -x $(BIN)/python || python3 -m venv $(VENV) && \
	  $(BIN)/pip install --disable-pip-version-check -q -e '.[demo]'; } && touch "$@"

lint: install
	$(BIN)/ruff check dvc_gitops tests pipeline bench
	$(BIN)/ruff format --check dvc_gitops tests pipeline bench
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

test: lint unit

# The demo pipeline runs with the venv first on PATH: its stages' `python` is the venv's.
DEMO_ENV := PATH="$(abspath $(BIN)):$$PATH" MLFLOW_LOGGING_LEVEL=WARNING
# MLflow runs per experiment, read straight from the SQLite store (no server, no mlflow import).
MLFLOW_RUNS := import sqlite3; \
  rows = sqlite3.connect("mlflow.db").execute("SELECT e.name, COUNT(*) FROM runs r JOIN experiments e USING (experiment_id) GROUP BY e.name ORDER BY e.name"); \
  print("MLflow runs in mlflow.db:", ", ".join(f"{name} {count}" for name, count in rows))

demo: $(DEMO_STAMP)
	@echo "==> dvc repro: runs the stages whose code, params or data changed since dvc.lock (fetch_data, preprocess, train, evaluate; about 30 s the first time)"
	@$(TOOK); time { log=$$(mktemp); $(DEMO_ENV) dvc repro >"$$log" 2>&1; code=$$?; cat "$$log"; \
	ran=$$(grep -c "^Running stage" "$$log"); rm -f "$$log"; [ $$code = 0 ] || exit $$code; \
	if [ "$$ran" = 0 ]; then echo "==> nothing re-ran: every stage is up to date with dvc.lock"; \
	else echo "==> re-ran $$ran stage(s)"; fi; }
	@echo "==> dvc-gitops check .: every offline check (dvc.yaml, deps, dvc.lock, params, pins, MLflow map, DVC config)"
	@$(TOOK); time $(DEMO_ENV) dvc-gitops check .
	@echo "==> dvc-gitops status: stale stages, explained from DVC's own dvc status"
	@$(TOOK); time $(DEMO_ENV) dvc-gitops status
	@echo "==> metrics: what the pipeline measured, and the MLflow runs it logged"
	@$(DEMO_ENV) dvc metrics show
	@$(BIN)/python -c '$(MLFLOW_RUNS)'
	@echo "Browse them: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db"

docs: install
	$(BIN)/python -m dvc_gitops.rules_docs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
