// A small MCP client over WebSocket for the browser: JSON-RPC 2.0, one message per text frame, subprotocol "mcp"
// with the token as a second offered subprotocol "auth.<token>" (a browser cannot set an Authorization header on a
// WebSocket). Protocol era 2025-11-25: initialize, then notifications/initialized. The server's push streams arrive
// as notifications/tradingmcp/stream {stream, seq, data}. After a dropped link it reconnects with a capped, jittered
// backoff and subscribes again to every stream it had; a refused token stops it (the caller's probe says so).

export const PROTOCOL_VERSION = "2025-11-25";
export const STREAM_METHOD = "notifications/tradingmcp/stream";

export type LinkState = "connecting" | "connected" | "reconnecting" | "refused" | "closed";

export interface ToolResult {
  isError: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

export interface StreamMessage {
  stream: string;
  seq: number;
  data: Record<string, unknown>;
}

/** What a failed connection attempt means: a server that answers but refuses the token, or one out of reach. */
export type Probe = () => Promise<"ok" | "refused" | "unreachable">;

export interface LinkOptions {
  url: string;
  token: string;
  onState: (state: LinkState, detail: string) => void;
  onStream: (msg: StreamMessage) => void;
  probe: Probe;
  callTimeoutMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (reason: Error) => void;
  timer: number;
}

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class McpLink {
  state: LinkState = "connecting";
  readonly streams = new Set<string>();
  /** Round-trip times (ms) of this page's finished tool calls, newest last (bounded). */
  readonly rtts: number[] = [];
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private waiters: (() => void)[] = [];
  private attempt = 0;
  private stopped = false;
  private opened = false;

  constructor(private readonly opts: LinkOptions) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close(1000, "console closed");
    this.setState("closed", "");
  }

  /** Calls a tool; waits for the link when it is (re)connecting. Rejects on an RPC error, a timeout or a drop. */
  async call(name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
    await this.ready();
    const started = performance.now();
    const result = (await this.request("tools/call", { name, arguments: args })) as ToolResult;
    this.rtts.push(performance.now() - started);
    if (this.rtts.length > 2000) this.rtts.splice(0, this.rtts.length - 2000);
    return result;
  }

  /** The names of the server's tools (every page of ``tools/list``). */
  async listTools(): Promise<string[]> {
    await this.ready();
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await this.request("tools/list", cursor ? { cursor } : {})) as { tools: { name: string }[]; nextCursor?: string };
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor);
    return names;
  }

  /** Subscribes to a push stream (kept across reconnects until unsubscribed). */
  async subscribe(key: string): Promise<ToolResult> {
    this.streams.add(key);
    return this.call("subscribe", { stream: key });
  }

  async unsubscribe(key: string): Promise<void> {
    this.streams.delete(key);
    if (this.state === "connected") await this.call("unsubscribe", { stream: key });
  }

  private ready(): Promise<void> {
    if (this.state === "connected") return Promise.resolve();
    if (this.state === "refused" || this.state === "closed") return Promise.reject(new Error(`link ${this.state}`));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private setState(state: LinkState, detail: string): void {
    this.state = state;
    this.opts.onState(state, detail);
  }

  private open(): void {
    this.opened = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url, ["mcp", `auth.${this.opts.token}`]);
    } catch (err) {
      this.setState("refused", `cannot open ${this.opts.url}: ${String(err)}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.opened = true;
      void this.handshake(ws);
    };
    ws.onmessage = (ev: MessageEvent) => this.receive(String(ev.data));
    ws.onclose = (ev: CloseEvent) => void this.closed(ws, ev);
  }

  private async handshake(ws: WebSocket): Promise<void> {
    try {
      await this.request(
        "initialize",
        {
          protocolVersion: PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: "tradingmcp-console", version: "0.1.0" },
        },
        ws,
      );
      ws.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    } catch (err) {
      ws.close(1002, "initialize failed");
      return;
    }
    this.attempt = 0;
    this.setState("connected", "");
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w();
    for (const key of this.streams) {
      this.call("subscribe", { stream: key }).catch(() => undefined);
    }
  }

  private request(method: string, params: Record<string, unknown>, ws: WebSocket | null = this.ws): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (ws === null || ws.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${this.opts.callTimeoutMs ?? 15000} ms`));
      }, this.opts.callTimeoutMs ?? 15000);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  private receive(text: string): void {
    let msg: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string } };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.method === STREAM_METHOD) {
      this.opts.onStream(msg.params as StreamMessage);
      return;
    }
    if (msg.id === undefined || msg.method !== undefined) return; // server requests: the console offers none
    const waiting = this.pending.get(msg.id);
    if (waiting === undefined) return;
    this.pending.delete(msg.id);
    window.clearTimeout(waiting.timer);
    if (msg.error) waiting.reject(new RpcError(msg.error.code, msg.error.message));
    else waiting.resolve(msg.result);
  }

  private async closed(ws: WebSocket, ev: CloseEvent): Promise<void> {
    if (ws !== this.ws) return;
    for (const [id, p] of this.pending) {
      window.clearTimeout(p.timer);
      p.reject(new Error(`connection lost (${ev.code})`));
      this.pending.delete(id);
    }
    if (this.stopped) return;
    let why = ev.code === 1006 ? "connection lost" : `closed ${ev.code} ${ev.reason}`.trim();
    if (!this.opened) {
      // the upgrade failed: a browser does not say why, so ask the server over HTTP whether it refuses the token
      const verdict = await this.opts.probe();
      if (verdict === "refused") {
        this.setState("refused", "the server refused this token");
        return;
      }
      if (verdict === "ok") {
        // the server answers and takes the token, yet refused the upgrade: its Origin (or Host) check
        why = `the server refuses this page's WebSocket upgrade (HTTP 403?): allow the origin ${location.origin} on the server`;
      }
    }
    const delay = backoff(this.attempt++, this.opts.backoffMinMs ?? 250, this.opts.backoffMaxMs ?? 5000);
    this.setState("reconnecting", `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
    window.setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }
}

/** The wait before reconnect attempt ``attempt`` (0, 1, ...): doubling from ``minMs``, capped, with ±20 % jitter. */
export function backoff(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}
