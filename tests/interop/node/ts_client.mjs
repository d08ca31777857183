// Drives a TradingMCP server with the official TypeScript SDK (@modelcontextprotocol/sdk) over its
// WebSocketClientTransport, and prints one JSON document on stdout for the pytest side to check.
//
//   node ts_client.mjs <ws-url> [--token <token>]
//
// The SDK transport does `new WebSocket(url, 'mcp')` on the global WebSocket and takes no headers (Node 20 has no
// global WebSocket by default). We install the `ws` package's WebSocket as the global; with --token a subclass adds
// the subprotocol `auth.<token>` next to `mcp`, the way a browser client authenticates.
//
// Exit codes: 0 success, 2 bad usage, 3 connection/handshake failure (the JSON says why), 1 anything else.
import WebSocket from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';

const args = process.argv.slice(2);
const url = args[0];
const tokenAt = args.indexOf('--token');
const token = tokenAt >= 0 ? args[tokenAt + 1] : undefined;
if (!url || (tokenAt >= 0 && !token)) {
    console.error('usage: node ts_client.mjs <ws-url> [--token <token>]');
    process.exit(2);
}

class AuthWebSocket extends WebSocket {
    constructor(address, protocols, options) {
        const offered = protocols === undefined ? [] : [].concat(protocols);
        super(address, token ? [...offered, `auth.${token}`] : offered, options);
    }
}
globalThis.WebSocket = AuthWebSocket;

const client = new Client({ name: 'tradingmcp-interop-ts', version: '1.0.0' });
const transport = new WebSocketClientTransport(new URL(url));
const timer = setTimeout(() => {
    console.log(JSON.stringify({ ok: false, error: 'timed out' }));
    process.exit(1);
}, 30_000);

try {
    await client.connect(transport);
} catch (err) {
    clearTimeout(timer);
    console.log(JSON.stringify({ ok: false, stage: 'connect', error: String(err?.message ?? err) }));
    process.exit(3);
}

const tools = [];
let cursor;
let pages = 0;
do {
    const page = await client.listTools(cursor ? { cursor } : {});
    pages += 1;
    tools.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
} while (cursor && pages < 100);

const echo = await client.callTool({ name: 'echo', arguments: { text: 'from typescript', n: 42 } });
const progress = [];
const slow = await client.callTool({ name: 'slow', arguments: { steps: 3, delay_ms: 25 } }, undefined, {
    onprogress: (p) => progress.push([p.progress, p.total ?? null]),
});
let badArgs = null;
try {
    await client.callTool({ name: 'echo', arguments: { n: 1 } });
} catch (err) {
    badArgs = { code: err.code, message: err.message };
}
const resources = await client.listResources();
const counter = await client.readResource({ uri: 'demo://counter' });

console.log(
    JSON.stringify({
        ok: true,
        protocolVersion: transport.protocolVersion ?? null,
        serverVersion: client.getServerVersion(),
        capabilities: client.getServerCapabilities(),
        tools,
        pages,
        echo,
        slow,
        progress,
        badArgs,
        resources: resources.resources.map((r) => r.uri),
        counter: counter.contents,
    }),
);
clearTimeout(timer);
await client.close();
