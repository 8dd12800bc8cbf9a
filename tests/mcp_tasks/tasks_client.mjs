// One MCP caller through tunnelgate, driven by the official TypeScript SDK: the v2 client
// (`@modelcontextprotocol/client` 2.4.0) in one of its negotiation modes, or the 1.32 client.
//
//   node tasks_client.mjs URL --resolve HOST:ADDR --key API_KEY --mode MODE COMMAND [ARG]
//
// MODE: legacy | auto | pin (the v2 client's versionNegotiation: the 2025 initialize handshake,
// a server/discover probe, or exactly revision 2026-07-28), or v1 (the 1.32 client).
// COMMAND:
//   check        lists tools (the relay filters them), calls the denied `wipe` (the relay's
//                -32602), `echo`, `countdown` with progress (the arrival time of each progress
//                notification, ms after the call), starts a `report` task and polls it to
//                completion, starts another and cancels it;
//   start TOOL   starts a task with TOOL ({"ms": 600000}: working for ten minutes) and prints its id;
//   get ID | update ID | cancel ID
//                one task request; prints the result or the JSON-RPC error;
//   listen ID    subscriptions/listen for the task's notifications (2026-07-28 only; used
//                where the relay refuses it, since an admitted listen stays open);
//   locate REGION
//                lists tools (so the v2 client learns `locate`'s x-mcp-header declaration and
//                mirrors `region` in Mcp-Param-Region), then calls locate; prints the result
//                or the error;
//   discover     server/discover through the SDK; prints the result or the error.
// Prints one JSON line on stdout. Task requests go through the SDK: in the 2025 era with
// client.request (the Tasks methods are not in the v2 client's result decoder), in the
// 2026-07-28 era through the connected SDK transport with the per-request `_meta` envelope
// (the v2 client refuses a `resultType: "task"` result, having no task runtime yet): the
// transport still writes MCP-Protocol-Version, Mcp-Method and Mcp-Name (the task id) itself.
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import { Readable } from 'node:stream';
import * as z from 'zod/v4';
import * as v2 from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const args = process.argv.slice(2);
const url = new URL(args[0]);
const resolveTable = new Map();
let mode = 'legacy';
let apiKey = '';
const rest = [];
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--resolve') {
    const [host, address] = args[++i].split(':');
    resolveTable.set(host.toLowerCase(), address);
  } else if (args[i] === '--mode') {
    mode = args[++i];
  } else if (args[i] === '--key') {
    apiKey = args[++i];
  } else {
    rest.push(args[i]);
  }
}
const [command, argument] = rest;

function lookup(hostname, options, callback) {
  const address = resolveTable.get(String(hostname).toLowerCase());
  if (address === undefined) return dns.lookup(hostname, options, callback);
  const family = net.isIPv6(address) ? 6 : 4;
  if (options?.all) callback(null, [{ address, family }]);
  else callback(null, address, family);
}
const agent = new https.Agent({ keepAlive: true });
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

// The transports' documented `fetch` option, over node:https so that names resolve through
// --resolve; bodies stream (SSE needs it).
async function nodeFetch(input, init = {}) {
  const request = new Request(input, init);
  const target = new URL(request.url);
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const headers = Object.fromEntries(request.headers);
  if (body) headers['content-length'] = String(body.length);
  headers.authorization = `Bearer ${apiKey}`;
  return new Promise((resolve, reject) => {
    const req = (target.protocol === 'https:' ? https : http).request(
      target, { method: request.method, headers, agent: target.protocol === 'https:' ? agent : undefined, lookup, signal: init.signal },
      (res) => {
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        }
        const nullBody = NULL_BODY_STATUS.has(res.statusCode) || request.method === 'HEAD';
        if (nullBody) res.resume();
        resolve(new Response(nullBody ? null : Readable.toWeb(res), {
          status: res.statusCode, statusText: res.statusMessage, headers: responseHeaders,
        }));
      });
    req.on('error', reject);
    req.end(body);
  });
}

const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
const loose = z.object({}).passthrough();

async function connect() {
  if (mode === 'v1') {
    const client = new V1Client({ name: 'tunnelgate-tasks-v1', version: '1.0.0' });
    const transport = new V1Transport(url, { fetch: nodeFetch });
    await client.connect(transport);
    return { client, transport, modern: false };
  }
  const negotiation = mode === 'pin' ? { mode: { pin: '2026-07-28' } } : { mode };
  const client = new v2.Client(
    { name: `tunnelgate-tasks-${mode}`, version: '1.0.0' },
    { capabilities: { extensions: { [TASKS_EXTENSION]: {} } }, versionNegotiation: negotiation },
  );
  const transport = new v2.StreamableHTTPClientTransport(url, { fetch: nodeFetch });
  await client.connect(transport);
  return { client, transport, modern: client.getProtocolEra() === 'modern' };
}

// A request outside the client's result decoder, through its connected transport: answers
// whose id we chose are taken before the client sees them.
function rawSender(transport) {
  const pending = new Map();
  let next = 0;
  const onmessage = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (typeof message?.id === 'string' && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
      return;
    }
    onmessage?.(message, extra);
  };
  return (method, params) => new Promise((resolve, reject) => {
    const id = `raw-${++next}`;
    pending.set(id, resolve);
    const _meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': { extensions: { [TASKS_EXTENSION]: {} } },
    };
    transport.send({ jsonrpc: '2.0', id, method, params: { ...params, _meta } }).catch(reject);
  });
}

// One request, as { result } or { error: { code, message } }, never throwing.
async function call(session, method, params) {
  if (session.modern) {
    session.raw ??= rawSender(session.transport);
    const answer = await session.raw(method, params);
    return answer.error ? { error: answer.error } : { result: answer.result };
  }
  try {
    return { result: await session.client.request({ method, params }, loose) };
  } catch (e) {
    return { error: { code: e.code, message: e.message } };
  }
}

const taskIdOf = (result) => result?.taskId ?? result?.task?.taskId;

async function start(session, tool) {
  const answer = await call(session, 'tools/call', { name: tool, arguments: { ms: 600000 } });
  return { ...answer, taskId: taskIdOf(answer.result) };
}

async function check(session) {
  const out = { era: session.modern ? 'modern' : 'legacy', checks: {}, errors: [] };
  const note = (name, ok, detail) => {
    out.checks[name] = Boolean(ok);
    if (!ok) out.errors.push(`${name}: ${JSON.stringify(detail)}`);
  };
  const tools = (await session.client.listTools()).tools.map((t) => t.name).sort();
  note('tools_list_filtered', JSON.stringify(tools) === JSON.stringify(['audit', 'confirm', 'countdown', 'echo', 'locate', 'report']), tools);
  const wipe = await call(session, 'tools/call', { name: 'wipe', arguments: { confirm: true } });
  note('denied_tool_refused', wipe.error?.code === -32602 && /Unknown tool: wipe/.test(wipe.error?.message), wipe);
  const echo = await session.client.callTool({ name: 'echo', arguments: { text: 'hello' } });
  note('echo', echo.content?.[0]?.text === 'hello', echo);

  const started = Date.now();
  out.progress_ms = [];
  const onprogress = () => out.progress_ms.push(Date.now() - started);
  const countdownCall = { name: 'countdown', arguments: { steps: 3, delayMs: 200 } };
  const countdown = mode === 'v1'
    ? await session.client.callTool(countdownCall, undefined, { onprogress })
    : await session.client.callTool(countdownCall, { onprogress });
  note('countdown_streamed', out.progress_ms.length === 3 && /liftoff/.test(countdown.content?.[0]?.text), { countdown, progress: out.progress_ms });

  // A task started, polled to completion by its own caller.
  const first = await call(session, 'tools/call', { name: 'report', arguments: { ms: 300 } });
  const firstId = taskIdOf(first.result);
  note('task_created', typeof firstId === 'string', first);
  let state;
  for (let i = 0; i < 100; i++) {
    state = await call(session, 'tasks/get', { taskId: firstId });
    if (state.error || state.result?.status !== 'working') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  note('task_polled_to_completion', state.result?.status === 'completed' &&
    state.result?.result?.content?.[0]?.text === 'report ready', state);
  // Another, cancelled by its caller.
  const second = await start(session, 'report');
  const cancel = await call(session, 'tasks/cancel', { taskId: second.taskId });
  const after = await call(session, 'tasks/get', { taskId: second.taskId });
  note('task_cancelled', !cancel.error && after.result?.status === 'cancelled', { second, cancel, after });
  out.tasks = { completed: firstId, cancelled: second.taskId };
  out.ok = out.errors.length === 0;
  return out;
}

async function main() {
  const session = await connect();
  let out;
  switch (command) {
    case 'check':
      out = await check(session);
      break;
    case 'start':
      out = await start(session, argument);
      break;
    case 'get':
    case 'update':
    case 'cancel':
      out = await call(session, `tasks/${command}`, command === 'update'
        ? { taskId: argument, inputResponses: {} } : { taskId: argument });
      break;
    case 'locate': {
      await session.client.listTools();
      try {
        out = { result: await session.client.callTool({ name: 'locate', arguments: { region: argument } }) };
      } catch (e) {
        out = { error: { code: e.code, message: e.message } };
      }
      break;
    }
    case 'discover':
      out = await call(session, 'server/discover', {});
      break;
    case 'listen':  // only for a refusal: an admitted listen stays open
      out = await call(session, 'subscriptions/listen', { notifications: { taskIds: [argument] } });
      break;
    default:
      throw new Error(`unknown command ${command}`);
  }
  out.era ??= session.modern ? 'modern' : 'legacy';
  process.stdout.write(JSON.stringify(out) + '\n');
  await session.client.close();
}

main().then(() => process.exit(0), (e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e?.stack ?? e) }) + '\n');
  process.exit(1);
});
