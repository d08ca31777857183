// The TradingMCP console: one page, one MCP link over WebSocket, panels fed by push streams (prices, the book, the
// account's orders) and by periodic tool calls (venues, balances and P&L, the audit log) and /metrics (latency).

import "uplot/dist/uPlot.min.css";
import "./style.css";
import { TimeChart, drawHistogram } from "./charts";
import { byId, clock, fillTable, num, trim } from "./dom";
import { type LinkState, McpLink, type StreamMessage, type ToolResult } from "./mcp";
import { DEFAULT_BOUNDS_US, bucketize, toolLatency } from "./metrics";

type Json = Record<string, unknown>;
type Verdict = "ok" | "refused" | "unreachable";

const TOKEN_KEY = "tradingmcp.console.token";
const POLL_MS = 3000;
const TICK_TO_ORDER_MAX_MS = 1000; // a longer gap is no reaction to that tick
const ORDER_TOOLS = new Set(["place_order", "replace_order", "cancel_order", "cancel_all_orders", "place_orders_batch"]);

interface Who {
  name: string;
  scopes: string[];
}

const page = {
  token: "",
  who: null as Who | null,
  venue: "",
  symbol: "BTCUSDT",
  marketKeys: [] as string[],
  ordersKey: "",
  orders: new Map<string, Json>(),
  fills: [] as Json[],
  ticks: 0,
  lastPrice: NaN,
  bid: NaN,
  ask: NaN,
  states: [] as string[],
  killed: false,
  lastMarketMs: NaN, // performance.now() of the latest market push of the page's symbol
  tickToOrderMs: [] as number[],
  pnlPoints: 0,
  polls: 0,
  pollMs: {} as Record<string, number>,
  offered: null as Set<string> | null, // the server's tools (null: not listed yet)
  unavailable: [] as string[], // panels shown as not available: the server offers none of their tools
};
// what the browser tests read besides the page's text
(window as unknown as { tradingmcpConsole: typeof page }).tradingmcpConsole = page;

let link: McpLink | null = null;
let priceChart: TimeChart | null = null;
let pnlChart: TimeChart | null = null;

function banner(text: string, kind: "error" | "info" = "error"): void {
  const b = byId("banner");
  b.textContent = text;
  b.className = kind === "info" ? "info" : "";
  b.hidden = text === "";
}

function setState(state: LinkState | "starting", detail = ""): void {
  document.body.dataset.state = state;
  page.states.push(state);
  const text: Record<string, string> = {
    starting: "starting",
    connecting: "connecting…",
    connected: "connected",
    reconnecting: "reconnecting…",
    refused: "token refused",
    closed: "closed",
  };
  const badge = byId("conn");
  badge.textContent = text[state];
  badge.title = detail;
  if (state === "reconnecting") banner(`Connection lost: reconnecting (${detail})`, "info");
  else if (state === "connected" && !page.killed) banner("");
  updateKillButton();
}

function tokenFromPage(): string | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromUrl = hash.get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, "", location.pathname + location.search); // the token leaves the address bar
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function whoami(token: string): Promise<[Verdict, Who | null, string]> {
  try {
    const r = await fetch("/console/whoami", { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
    if (r.status === 401 || r.status === 403) return ["refused", null, `HTTP ${r.status} ${(await r.text()).slice(0, 200)}`];
    if (!r.ok) return ["unreachable", null, `HTTP ${r.status}`];
    return ["ok", (await r.json()) as Who, ""];
  } catch (err) {
    return ["unreachable", null, String(err)];
  }
}

function showRefused(detail: string): void {
  setState("refused", detail);
  banner(
    "The server refused this token (HTTP 401 Unauthorized): it is wrong or no longer valid. " +
      "Open the console with a valid token (/console#token=…) or paste one below.",
  );
  byId("login").hidden = false;
  byId("panels").hidden = true;
  sessionStorage.removeItem(TOKEN_KEY);
}

function showWho(): void {
  const who = page.who;
  byId("who").textContent = who ? `${who.name} (${who.scopes.join(", ")})` : "";
  updateKillButton();
}

function canTrade(): boolean {
  return page.who?.scopes.includes("trade") ?? false;
}

function updateKillButton(): void {
  const button = byId<HTMLButtonElement>("kill");
  const connected = document.body.dataset.state === "connected";
  const noKill = missingTools(["kill_switch"]);
  button.disabled = !canTrade() || !connected || page.killed || noKill.length > 0;
  button.title = noKill.length
    ? notAvailable(noKill)
    : !canTrade()
    ? "needs a token with the trade scope"
    : page.killed
      ? "the kill switch is on until the server restarts"
      : connected
        ? "cancel every open order and refuse new ones"
        : "not connected";
}

/** The tools each polled panel calls, and the tables it fills. A server may offer fewer (a bus gateway offers what its
 * trader describes): such a panel says so instead of failing every poll. */
const PANELS: Record<string, { tools: string[]; tables: string[] }> = {
  venues: { tools: ["get_server_status"], tables: ["venues", "rate-limits", "safety"] },
  account: { tools: ["get_balances", "get_pnl"], tables: ["balances"] },
  orders: { tools: ["get_open_orders"], tables: ["orders", "fills"] },
  audit: { tools: ["get_audit_log"], tables: ["audit"] },
};

function missingTools(tools: string[]): string[] {
  const offered = page.offered;
  return offered === null ? [] : tools.filter((t) => !offered.has(t));
}

function notAvailable(tools: string[]): string {
  return `not available on this server: it offers no ${tools.join(", ")} tool`;
}

/** Runs a panel's refresh, or marks the panel not available when the server lacks one of its tools. */
async function refreshPanel(name: string, job: () => Promise<void>): Promise<void> {
  const gone = missingTools(PANELS[name]?.tools ?? []);
  if (gone.length === 0) return job();
  if (!page.unavailable.includes(name)) page.unavailable.push(name);
  const text = notAvailable(gone);
  for (const id of PANELS[name]?.tables ?? []) fillTable(byId<HTMLTableElement>(id), [], text);
  if (name === "account") byId("pnl-now").textContent = text;
}

function structured(result: ToolResult, what: string): Json {
  if (result.isError) throw new Error(`${what}: ${result.content?.[0]?.text ?? "error"}`);
  return (result.structuredContent ?? {}) as Json;
}

async function call(tool: string, args: Json = {}): Promise<Json> {
  if (link === null) throw new Error("not connected");
  return structured(await link.call(tool, args), tool);
}

// --- market: price chart and top of book (push streams) ---------------------------------------------------------

async function subscribeMarket(): Promise<void> {
  if (link === null || !page.venue) return;
  const keys = [`book_ticker:${page.venue}:${page.symbol}`, `trades:${page.venue}:${page.symbol}`, `book:${page.venue}:${page.symbol}:10`];
  for (const old of page.marketKeys) if (!keys.includes(old)) await link.unsubscribe(old).catch(() => undefined);
  page.marketKeys = keys;
  page.ticks = 0;
  page.lastPrice = page.bid = page.ask = NaN;
  priceChart?.clear();
  byId("price-symbol").textContent = `${page.symbol} on ${page.venue}`;
  byId("last-price").textContent = "—";
  fillTable(byId<HTMLTableElement>("book"), [], "waiting for the book…");
  for (const key of keys) {
    const r = await link.subscribe(key);
    if (r.isError) banner(`Cannot subscribe to ${key}: ${r.content?.[0]?.text ?? "error"}`);
  }
}

function onStream(msg: StreamMessage): void {
  const kind = msg.stream.split(":", 1)[0];
  const d = msg.data;
  if (msg.stream.startsWith("orders:")) {
    onOrderEvent(d);
    return;
  }
  if (!page.marketKeys.includes(msg.stream)) return;
  page.lastMarketMs = performance.now();
  const now = Date.now() / 1000;
  if (kind === "book_ticker") {
    page.bid = num(d.bid);
    page.ask = num(d.ask);
    tick(now);
  } else if (kind === "trades") {
    page.lastPrice = num(d.price);
    byId("last-price").textContent = trim(d.price);
    tick(now);
  } else if (kind === "book") {
    const bids = (d.bids as string[][]) ?? [];
    const asks = (d.asks as string[][]) ?? [];
    const rows: (string | [string, string])[][] = [];
    for (let i = 0; i < Math.max(bids.length, asks.length); i++) {
      rows.push([trim(bids[i]?.[1] ?? ""), [trim(bids[i]?.[0] ?? ""), "bid"], [trim(asks[i]?.[0] ?? ""), "ask"], trim(asks[i]?.[1] ?? "")]);
    }
    fillTable(byId<HTMLTableElement>("book"), rows, "empty book");
    byId("book-spread").textContent = d.spread !== undefined ? `spread ${trim(d.spread)}, mid ${trim(d.mid)}, microprice ${trim(d.microprice)}` : "";
  }
}

function tick(now: number): void {
  page.ticks += 1;
  byId("tick-count").textContent = `${page.ticks} updates`;
  if (!Number.isFinite(page.lastPrice) && Number.isFinite(page.bid) && Number.isFinite(page.ask)) {
    byId("last-price").textContent = ((page.bid + page.ask) / 2).toFixed(2);
  }
  priceChart?.push(now, [
    Number.isFinite(page.bid) ? page.bid : null,
    Number.isFinite(page.ask) ? page.ask : null,
    Number.isFinite(page.lastPrice) ? page.lastPrice : null,
  ]);
}

// --- orders and fills (the orders: stream, reconciled with get_open_orders) --------------------------------------

function onOrderEvent(d: Json): void {
  const order = d.order as Json | undefined;
  if (order && d.execution_type === "NEW" && order.symbol === page.symbol) {
    // tick to trade as this page sees it: the latest market push of the symbol → the push of a new order on it
    const gap = performance.now() - page.lastMarketMs;
    if (gap >= 0 && gap < TICK_TO_ORDER_MAX_MS) {
      page.tickToOrderMs.push(gap);
      if (page.tickToOrderMs.length > 2000) page.tickToOrderMs.shift();
    }
  }
  if (order) {
    const id = String(order.order_id);
    if (order.is_open) page.orders.set(id, order);
    else page.orders.delete(id);
  }
  const fill = d.fill as Json | null | undefined;
  if (fill && order) {
    page.fills.unshift({ ...fill, symbol: order.symbol, side: order.side, time_ms: d.event_time_ms });
    page.fills.length = Math.min(page.fills.length, 30);
  }
  renderOrders();
}

function renderOrders(): void {
  const orders = [...page.orders.values()].sort((a, b) => num(b.time_ms) - num(a.time_ms));
  byId("orders-count").textContent = `(${orders.length})`;
  fillTable(
    byId<HTMLTableElement>("orders"),
    orders.slice(0, 40).map((o) => [
      clock(num(o.time_ms)),
      String(o.symbol),
      [String(o.side), String(o.side)],
      String(o.type),
      trim(o.price),
      trim(o.orig_qty),
      trim(o.executed_qty),
      String(o.client_order_id),
    ]),
    "no open orders",
  );
  fillTable(
    byId<HTMLTableElement>("fills"),
    page.fills.map((f) => [
      clock(num(f.time_ms)),
      String(f.symbol),
      [String(f.side), String(f.side)],
      trim(f.price),
      trim(f.qty),
      `${trim(f.commission ?? f.fee ?? "")} ${String(f.commission_asset ?? f.fee_asset ?? "")}`.trim(),
    ]),
    "no fills yet",
  );
}

async function refreshOrders(): Promise<void> {
  const r = await call("get_open_orders", { exchange: page.venue });
  page.orders.clear();
  for (const o of (r.orders as Json[]) ?? []) page.orders.set(String(o.order_id), o);
  renderOrders();
}

// --- venues, balances and P&L, audit, latency (periodic) ----------------------------------------------------------

async function refreshVenues(): Promise<void> {
  const st = await call("get_server_status", { exchange: page.venue || undefined });
  const venues = (st.venues as Json[]) ?? [];
  let health: Json = {};
  try {
    health = (await (await fetch("/health", { cache: "no-store" })).json()) as Json;
  } catch {
    health = {};
  }
  const reach = new Map<string, Json>();
  for (const e of (health.exchanges as Json[]) ?? []) reach.set(String(e.name), e);
  fillTable(
    byId<HTMLTableElement>("venues"),
    venues.map((v) => {
      const h = reach.get(String(v.exchange));
      const up = h?.reachable ?? (v.exchange === st.exchange ? st.reachable : null);
      const offset = h?.clock_offset_ms ?? (v.exchange === st.exchange ? st.clock_offset_ms : null);
      return [
        `${String(v.exchange)}${v.default ? " (default)" : ""}`,
        String(v.environment),
        up === null || up === undefined ? ["?", "warn"] : up ? ["up", "ok"] : ["DOWN", "bad"],
        offset === null || offset === undefined ? "" : `${String(offset)} ms`,
        v.trading_allowed === false ? ["refused", "bad"] : ["allowed", "ok"],
        v.kill_switch_active ? ["ON", "bad"] : ["off", "ok"],
      ];
    }),
    "no venues",
  );
  byId("limits-venue").textContent = `${String(st.exchange)}, ${String(st.environment ?? "")}`;
  fillTable(
    byId<HTMLTableElement>("rate-limits"),
    ((st.rate_limits as Json[]) ?? []).map((r) => {
      const share = num(r.used) / num(r.limit);
      return [String(r.kind), `${String(r.interval_s)} s`, [String(r.used), share > 0.8 ? "bad" : share > 0.5 ? "warn" : "ok"], String(r.limit)];
    }),
    "no rate-limit data",
  );
  const limits = (venues.find((v) => v.exchange === st.exchange)?.limits as Json | undefined) ?? {};
  const shown: [string, unknown][] = [
    ["max order notional", limits.max_order_notional],
    ["max notional per day", limits.max_daily_notional],
    ["max open orders", limits.max_open_orders],
    ["price band %", limits.price_band_pct],
    ["confirm above notional", limits.confirm_above_notional],
    ["allowed symbols", Array.isArray(limits.allowed_symbols) ? limits.allowed_symbols.join(", ") : limits.allowed_symbols === null ? "all" : undefined],
    ["live orders allowed", limits.allow_live],
  ];
  fillTable(
    byId<HTMLTableElement>("safety"),
    shown.filter(([, v]) => v !== undefined).map(([k, v]) => [k, v === null ? "off" : String(v)]),
    "no limits reported",
  );
  byId("health").textContent = health.status ? `server ${String(health.status)}, ${String(health.connections)} connections` : "";
  const select = byId<HTMLSelectElement>("venue");
  const names = venues.map((v) => String(v.exchange));
  if ([...select.options].map((o) => o.value).join() !== names.join()) {
    select.replaceChildren(...names.map((n) => new Option(n, n, false, n === page.venue)));
  }
  const mine = venues.find((v) => v.exchange === page.venue);
  if (mine?.kill_switch_active && !page.killed) {
    page.killed = true;
    updateKillButton();
  }
}

async function refreshAccount(): Promise<void> {
  const [bal, pnl] = await Promise.all([call("get_balances", { exchange: page.venue }), call("get_pnl", { exchange: page.venue })]);
  const rows = ((bal.balances as Json[]) ?? [])
    .filter((b) => num(b.total) !== 0)
    .map((b) => [String(b.asset), trim(b.free), trim(b.locked), b.value_usdt === null || b.value_usdt === undefined ? "" : num(b.value_usdt).toFixed(2)]);
  rows.push(["total", "", "", num(bal.total_value_usdt).toFixed(2)]);
  fillTable(byId<HTMLTableElement>("balances"), rows, "no balances");
  const t = (pnl.totals as Json) ?? {};
  byId("pnl-now").textContent =
    `realized ${num(t.realized_pnl).toFixed(4)}, unrealized ${num(t.unrealized_pnl).toFixed(4)}, fees ${num(t.fees).toFixed(4)} ` +
    `${String(pnl.quote_asset ?? "")} over ${String(t.trade_count ?? 0)} trades`;
  pnlChart?.push(Math.floor(Date.now() / 1000), [num(t.realized_pnl), num(t.unrealized_pnl), num(bal.total_value_usdt)]);
  page.pnlPoints = pnlChart?.points ?? 0;
}

interface AuditEntry extends Json {
  time_ms: number;
  principal?: string;
  kind: string;
  tool?: string;
  execution_type?: string;
  outcome?: string;
  latency_us?: number;
  error?: string;
  symbol?: string;
  client_order_id?: string;
  status?: string;
}

async function refreshAudit(): Promise<void> {
  const tool = byId<HTMLInputElement>("audit-tool").value.trim();
  const outcome = byId<HTMLSelectElement>("audit-outcome").value;
  const hideOwn = byId<HTMLInputElement>("audit-hide-own").checked;
  const args: Json = { limit: 200 };
  if (tool) args.tool = tool;
  if (outcome) args.outcome = outcome;
  const r = await call("get_audit_log", args);
  const own = page.who?.name;
  const entries = ((r.entries as AuditEntry[]) ?? []).filter((e) => !(hideOwn && e.kind === "tool_call" && e.principal === own));
  fillTable(
    byId<HTMLTableElement>("audit"),
    entries.slice(0, 30).map((e) => [
      clock(e.time_ms),
      e.principal ?? "",
      e.kind,
      e.tool ?? e.execution_type ?? "",
      e.outcome ? [e.outcome, e.outcome === "ok" ? "ok" : "bad"] : e.status ?? "",
      e.latency_us !== undefined ? `${(e.latency_us / 1000).toFixed(2)} ms` : "",
      e.error ?? [e.symbol, e.client_order_id].filter(Boolean).join(" "),
    ]),
    "no entries",
  );
}

async function refreshLatency(): Promise<void> {
  let body = "";
  try {
    const r = await fetch("/metrics", { cache: "no-store" });
    if (r.ok) body = await r.text();
  } catch {
    body = "";
  }
  const orders = toolLatency(body, (t) => ORDER_TOOLS.has(t));
  const all = toolLatency(body, () => true);
  const bounds = all.bounds.length ? all.bounds : DEFAULT_BOUNDS_US;
  drawHistogram(byId("latency-orders"), "order tools in the server (place, replace, cancel): dispatch → result", orders.bounds.length ? orders : bucketize([], bounds), "#e0a030");
  drawHistogram(byId("latency-all"), "every tool call in the server", all.bounds.length ? all : bucketize([], bounds), "#4c8dd6");
  drawHistogram(
    byId("latency-ticktotrade"),
    `tick to trade on ${page.symbol}, seen from this page: market push → the push of a new order`,
    bucketize(page.tickToOrderMs.map((ms) => ms * 1000), bounds),
    "#c678dd",
  );
  drawHistogram(byId("latency-page"), "this page's tool calls, round trip over WebSocket", bucketize((link?.rtts ?? []).map((ms) => ms * 1000), bounds), "#3fb970");
}

async function refreshTools(): Promise<void> {
  if (link === null) return;
  const list = byId("tools");
  if (list.childElementCount) return;
  const names = (await link.listTools()).sort();
  list.replaceChildren(...names.map((n) => new Option(n, n)));
}

let polling = false;
async function poll(): Promise<void> {
  if (polling || link === null || link.state !== "connected") return;
  polling = true;
  try {
    const named: [string, () => Promise<void>][] = [
      ["venues", refreshVenues],
      ["account", refreshAccount],
      ["orders", refreshOrders],
      ["audit", refreshAudit],
      ["latency", refreshLatency],
      ["tools", refreshTools],
    ];
    const jobs = named.map(async ([name, job]) => {
      const t0 = performance.now();
      try {
        await refreshPanel(name, job);
      } finally {
        page.pollMs[name] = Math.round(performance.now() - t0);
      }
    });
    const results = await Promise.allSettled(jobs);
    page.polls += 1;
    const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed && link.state === "connected" && !page.killed) banner(String(failed.reason?.message ?? failed.reason));
  } finally {
    polling = false;
  }
}

// --- the kill switch ---------------------------------------------------------------------------------------------

function openKillDialog(): void {
  if (!canTrade()) return;
  byId("kill-venue").textContent = page.venue;
  byId<HTMLDialogElement>("kill-dialog").showModal();
}

async function confirmKill(): Promise<void> {
  const dialog = byId<HTMLDialogElement>("kill-dialog");
  const reason = byId<HTMLInputElement>("kill-reason").value.trim() || "stopped from the console";
  dialog.close();
  try {
    const r = await call("kill_switch", { exchange: page.venue, reason: `${reason} (console, ${page.who?.name ?? "?"})` });
    page.killed = true;
    banner(
      `KILL SWITCH ON for ${String(r.exchange)}: ${String(r.count)} orders cancelled, ${((r.errors as unknown[]) ?? []).length} errors, ` +
        `${String(r.open_orders_after ?? "?")} still open; new orders are refused until the server restarts.`,
    );
    updateKillButton();
    await poll();
  } catch (err) {
    banner(`Kill switch failed: ${String((err as Error).message ?? err)}`);
  }
}

// --- start ----------------------------------------------------------------------------------------------------------

async function connect(token: string): Promise<void> {
  page.token = token;
  byId("login").hidden = true;
  setState("connecting");
  const [verdict, who, detail] = await whoami(token);
  if (verdict === "refused") {
    showRefused(detail);
    return;
  }
  page.who = who;
  showWho();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let first = true;
  link = new McpLink({
    url: `${scheme}://${location.host}/mcp`,
    token,
    onStream,
    probe: async () => {
      const [v, w, d] = await whoami(token);
      if (v === "refused") showRefused(d);
      else if (w !== null && page.who === null) {
        page.who = w;
        showWho();
      }
      return v;
    },
    onState: (state, d) => {
      if (state === "refused") return; // showRefused already said it
      setState(state, d);
      if (state !== "connected") return;
      if (page.who === null) void whoami(token).then(([, w]) => ((page.who = w), showWho()));
      if (first) {
        first = false;
        void start();
      } else {
        void poll();
      }
    },
  });
  link.start();
}

async function start(): Promise<void> {
  try {
    page.offered = link === null ? null : new Set(await link.listTools());
    updateKillButton();
  } catch {
    page.offered = null; // unknown: every panel tries
  }
  try {
    if (missingTools(["get_server_status"]).length) throw new Error(notAvailable(["get_server_status"]));
    const st = await call("get_server_status", {});
    page.venue = String(st.exchange);
    page.ordersKey = `orders:${page.venue}`;
    await link?.subscribe(page.ordersKey);
    await subscribeMarket();
  } catch (err) {
    banner(`Start-up failed: ${String((err as Error).message ?? err)}`);
  }
  await poll();
}

function main(): void {
  setState("starting");
  priceChart = new TimeChart(byId("price-chart"), [
    { label: "bid", stroke: "#3fb970" },
    { label: "ask", stroke: "#e5534b" },
    { label: "last trade", stroke: "#e0c050" },
  ]);
  pnlChart = new TimeChart(
    byId("pnl-chart"),
    [
      { label: "realized", stroke: "#3fb970" },
      { label: "unrealized", stroke: "#4c8dd6" },
      { label: "total value (right axis)", stroke: "#9aa4b2", scale: "y2" },
    ],
    2000,
    160,
  );
  byId("kill").addEventListener("click", openKillDialog);
  byId("kill-cancel").addEventListener("click", () => byId<HTMLDialogElement>("kill-dialog").close());
  byId("kill-confirm").addEventListener("click", () => void confirmKill());
  byId("token-go").addEventListener("click", () => {
    const t = byId<HTMLInputElement>("token-input").value.trim();
    if (t) {
      sessionStorage.setItem(TOKEN_KEY, t);
      location.reload();
    }
  });
  byId("symbol").addEventListener("change", () => {
    const s = byId<HTMLInputElement>("symbol").value.trim().toUpperCase();
    if (/^[A-Z0-9]{2,20}$/.test(s) && s !== page.symbol) {
      page.symbol = s;
      void subscribeMarket();
    }
  });
  byId("venue").addEventListener("change", () => {
    const v = byId<HTMLSelectElement>("venue").value;
    if (v && v !== page.venue) {
      if (link && page.ordersKey) void link.unsubscribe(page.ordersKey);
      page.venue = v;
      page.ordersKey = `orders:${v}`;
      page.orders.clear();
      page.fills = [];
      void link?.subscribe(page.ordersKey);
      void subscribeMarket();
      void poll();
    }
  });
  for (const id of ["audit-tool", "audit-outcome", "audit-hide-own"]) byId(id).addEventListener("change", () => void refreshPanel("audit", refreshAudit));
  window.setInterval(() => void poll(), POLL_MS);
  const token = tokenFromPage();
  if (token === null) {
    setState("closed", "no token");
    banner("No token: open the console with /console#token=<token> (the server prints one at start) or paste one below.", "info");
    byId("login").hidden = false;
    byId("panels").hidden = true;
    return;
  }
  void connect(token);
}

main();
