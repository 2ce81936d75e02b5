# Two commands do all the set-up on a fresh machine:
#   make demo   the main end-to-end job
#   make test   the whole test suite (what CI runs)
# Both create .venv and install what they need (torch pinned: no CUDA packages), system tools via apt-get as root.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYS_STAMP := $(VENV)/.system-tools
JOBS ?= 2

.PHONY: demo test setup clean-venv

setup: $(STAMP) $(SYS_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch is installed first, pinned, so that nothing can pull a CUDA build; then the project and its test extras at
# the versions in constraints.txt (the ones the README's figures were measured with).
$(STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

$(SYS_STAMP): scripts/install_system_tools.sh | $(VENV)/bin/python
	bash scripts/install_system_tools.sh
	touch $(SYS_STAMP)

demo: setup
	$(PY) -m apps.kws demo --quick --out runs/kws/demo

test: setup
	$(PY) -m pytest -q -n $(JOBS) --durations=15

clean-venv:
	rm -rf $(VENV)
