# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: install demo test lint unit docs clean

$(STAMP): pyproject.toml
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "Python 3.10 or newer is needed"; exit 2; }
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[demo,test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

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

demo: install
	@echo "==> dvc repro"
	@log=$$(mktemp); $(DEMO_ENV) dvc repro >"$$log" 2>&1; code=$$?; cat "$$log"; \
	ran=$$(grep -c "^Running stage" "$$log"); rm -f "$$log"; [ $$code = 0 ] || exit $$code; \
	if [ "$$ran" = 0 ]; then echo "==> nothing re-ran: every stage is up to date with dvc.lock"; \
	else echo "==> re-ran $$ran stage(s)"; fi
	@echo "==> dvc-gitops check ."
	@$(DEMO_ENV) dvc-gitops check .
	@echo "==> dvc-gitops status"
	@$(DEMO_ENV) dvc-gitops status
	@echo "==> metrics"
	@$(DEMO_ENV) dvc metrics show
	@$(BIN)/python -c '$(MLFLOW_RUNS)'
	@echo "Browse them: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db"

docs: install
	$(BIN)/python -m dvc_gitops.rules_docs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
