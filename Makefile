# The README's two commands. Both create .venv on first use and install the project.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: check test lint bench install clean typecheck-tree

$(STAMP): pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

check: $(STAMP)
	$(BIN)/check-model run specs/hotplug --matrix

# mypy cannot follow the editable install's folder mapping; a tree of links can.
TYPECHECK := $(VENV)/typecheck
typecheck-tree: $(STAMP)
	@mkdir -p $(TYPECHECK)/mhpcheck
	@ln -sfn ../../../_mhpcheck/__init__.py $(TYPECHECK)/mhpcheck/__init__.py
	@for d in model checker properties cli; do ln -sfn ../../../$$d $(TYPECHECK)/mhpcheck/$$d; done

lint: typecheck-tree
	$(BIN)/ruff check .
	MYPYPATH=$(TYPECHECK) $(BIN)/mypy -p mhpcheck

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
