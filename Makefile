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

demo: install
	$(BIN)/dvc-gitops check .

docs: install
	$(BIN)/python -m dvc_gitops.rules_docs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
