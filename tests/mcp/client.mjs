// An MCP client built from the official TypeScript SDK (Client + StreamableHTTPClientTransport)
// that checks a server made by server.mjs, directly or through tunnelgate.
//
//   node client.mjs URL [--resolve HOST:ADDR] [--timeout-ms N]
//
// URL is http://... (the server itself) or https://NAME.DOMAIN:PORT/mcp (through the relay;
// the test CA comes from NODE_EXTRA_CA_CERTS, which Node reads at start-up). --resolve makes
// HOST resolve to ADDR for this process, like curl's --resolve: the URL, the TLS server name
// and the certificate check keep HOST, only the TCP connection goes to ADDR.
//
// Checks: tools/list has "countdown" and "echo"; "echo" returns its text; "countdown" streams
// its progress and log notifications before its final result (order, not timing); the session
// ends with an HTTP DELETE. Prints one JSON summary line on stdout; exits 0 only if all passed.
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

function usage(message) {
  process.stderr.write(`${message}\nusage: node client.mjs URL [--resolve HOST:ADDR] [--timeout-ms N]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let url;
const resolveTable = new Map();
let timeoutMs = 60000;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--resolve') {
    const spec = args[++i] ?? '';
    const colon = spec.indexOf(':');
    if (colon <= 0 || !net.isIP(spec.slice(colon + 1))) usage(`bad --resolve ${spec}`);
    resolveTable.set(spec.slice(0, colon).toLowerCase(), spec.slice(colon + 1));
  } else if (args[i] === '--timeout-ms') {
    timeoutMs = Number.parseInt(args[++i] ?? '', 10);
    if (!(timeoutMs > 0)) usage('bad --timeout-ms');
  } else if (url === undefined) {
    url = args[i];
  } else {
    usage(`unexpected argument ${args[i]}`);
  }
}
if (!url) usage('missing URL');
try {
  url = new URL(url);
} catch {
  usage(`bad URL ${url}`);
}
if (url.protocol !== 'http:' && url.protocol !== 'https:') usage('URL must be http: or https:');

// A fetch for the SDK transport (its documented `fetch` option) made of node:http/node:https,
// so that name resolution can be overridden per host with the `lookup` connection option.
// Response bodies stream (Readable.toWeb), which SSE needs.
function lookup(hostname, options, callback) {
  const address = resolveTable.get(String(hostname).toLowerCase());
  if (address === undefined) return dns.lookup(hostname, options, callback);
  const family = net.isIPv6(address) ? 6 : 4;
  if (options?.all) callback(null, [{ address, family }]);
  else callback(null, address, family);
}
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

async function nodeFetch(input, init = {}) {
  const request = new Request(input, init);
  const target = new URL(request.url);
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const headers = Object.fromEntries(request.headers);
  if (body) headers['content-length'] = String(body.length);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      target,
      { method: request.method, headers, agent: agents[target.protocol], lookup, signal: init.signal },
      (res) => {
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        }
        const nullBody = NULL_BODY_STATUS.has(res.statusCode) || request.method === 'HEAD';
        if (nullBody) res.resume();
        resolve(
          new Response(nullBody ? null : Readable.toWeb(res), {
            status: res.statusCode,
            statusText: res.statusMessage,
            headers: responseHeaders,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const t0 = performance.now();
const ms = () => Math.round((performance.now() - t0) * 10) / 10;
const summary = { ok: false, url: url.href, checks: {}, errors: [] };
const check = (name, condition, detail) => {
  summary.checks[name] = Boolean(condition);
  if (!condition) summary.errors.push(`${name}: ${detail ?? 'failed'}`);
};

function finish() {
  summary.ok = summary.errors.length === 0 && Object.keys(summary.checks).length > 0;
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exit(summary.ok ? 0 : 1);
}

const watchdog = setTimeout(() => {
  summary.errors.push(`timed out after ${timeoutMs} ms`);
  finish();
}, timeoutMs);

async function main() {
  const client = new Client({ name: 'tunnelgate-smoke-client', version: '1.0.0' });
  const logs = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logs.push({ at_ms: ms(), data: notification.params.data });
  });
  const transport = new StreamableHTTPClientTransport(url, { fetch: nodeFetch });
  await client.connect(transport);
  summary.session = transport.sessionId ?? null;
  summary.protocol_version = transport.protocolVersion ?? null;
  summary.server = client.getServerVersion() ?? null;
  check('initialize', summary.session, 'no Mcp-Session-Id from the server');

  const { tools } = await client.listTools();
  summary.tools = tools.map((tool) => tool.name).sort();
  check('tools_list', ['countdown', 'echo'].every((name) => summary.tools.includes(name)),
    `tools were ${JSON.stringify(summary.tools)}`);

  const text = `hello through the tunnel ${Date.now()}`;
  const echo = await client.callTool({ name: 'echo', arguments: { text } });
  summary.echo = echo.content?.[0]?.text ?? null;
  check('echo', summary.echo === text, `got ${JSON.stringify(echo)}`);

  const steps = 2;
  const progress = [];
  const logsBefore = logs.length;
  const callStart = ms();
  const countdown = await client.callTool(
    { name: 'countdown', arguments: { steps, delayMs: 300 } },
    undefined,
    { onprogress: (p) => progress.push({ at_ms: ms(), progress: p.progress, total: p.total }), timeout: 30000 },
  );
  const resultAt = ms();
  const countdownLogs = logs.slice(logsBefore);
  const notifications = [...progress.map((p) => p.at_ms), ...countdownLogs.map((l) => l.at_ms)];
  summary.countdown = {
    result: countdown.content?.[0]?.text ?? null,
    called_at_ms: callStart,
    progress,
    logs: countdownLogs,
    result_at_ms: resultAt,
    // How long the first notification came before the result: about steps*delayMs when the
    // path streams, about 0 when something buffers the response. Reported, not asserted.
    lead_ms: notifications.length ? Math.round((resultAt - Math.min(...notifications)) * 10) / 10 : null,
  };
  check('countdown_result', summary.countdown.result === `liftoff after ${steps} steps`,
    `got ${JSON.stringify(countdown)}`);
  check('countdown_progress', progress.length === steps && progress.every((p) => p.at_ms <= resultAt),
    `expected ${steps} progress notifications before the result, got ${JSON.stringify(progress)}`);
  check('countdown_logs', countdownLogs.length === steps && countdownLogs.every((l) => l.at_ms <= resultAt),
    `expected ${steps} log notifications before the result, got ${JSON.stringify(countdownLogs)}`);

  await transport.terminateSession();
  check('terminate_session', transport.sessionId === undefined, 'session id still set after DELETE');
  await client.close();
}

main()
  .catch((error) => summary.errors.push(`exception: ${error?.stack ?? error}`))
  .finally(() => {
    clearTimeout(watchdog);
    finish();
  });
