// The MCP governance check through tunnelgate, driven by the official TypeScript SDK's client.
//
//   node governance_client.mjs URL --resolve HOST:ADDR --keys DIR --issuer ISS [--timeout-ms N]
//
// DIR holds es256.pem (tests/integration/jwt_tool.js keys DIR), whose public half is the
// relay's JWKS for ISS: the client signs its own bearer tokens, for two subjects.
// The relay publishes server.mjs (tools echo, countdown, wipe) under a policy that lets
// callers use echo and countdown only, and allows the Origin https://allowed.example besides
// the tunnel's own. Checks, each one a named entry of the summary:
// - listTools (a tools/list the relay filters) names echo and countdown, not wipe;
// - echo works; countdown streams its progress and log notifications before its result;
// - calling wipe raises the SDK's McpError with the relay's -32602 "Unknown tool: wipe",
//   and the next call on the same session still works;
// - the SDK's GET event stream was opened through the relay (200, text/event-stream);
// - a foreign Origin gets 403; the allowed one and the tunnel's own are not refused for it;
// - a made-up session id gets 404 with a JSON-RPC error; DELETE ends the session (2xx), and
//   the ended session's id is then refused with 404 by the relay;
// - without a token: 401 with WWW-Authenticate naming resource_metadata, and the SDK's
//   discoverOAuthProtectedResourceMetadata finds the relay's RFC 9728 document there (its
//   resource the tunnel's URL, its authorization server the issuer); the SDK client's
//   connect fails;
// - a second subject (bob) presenting the first subject's (alice's) session id gets 404.
// Prints one JSON summary line on stdout; exits 0 only if every check passed.
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const url = new URL(args[0]);
const resolveTable = new Map();
let timeoutMs = 60000;
let keysDir = '';
let issuer = '';
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--resolve') {
    const [host, address] = args[++i].split(':');
    resolveTable.set(host.toLowerCase(), address);
  } else if (args[i] === '--keys') {
    keysDir = args[++i];
  } else if (args[i] === '--issuer') {
    issuer = args[++i];
  } else if (args[i] === '--timeout-ms') {
    timeoutMs = Number.parseInt(args[++i], 10);
  }
}

function lookup(hostname, options, callback) {
  const address = resolveTable.get(String(hostname).toLowerCase());
  if (address === undefined) return dns.lookup(hostname, options, callback);
  const family = net.isIPv6(address) ? 6 : 4;
  if (options?.all) callback(null, [{ address, family }]);
  else callback(null, address, family);
}
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
const seen = []; // every request the SDK made: method, status, content type

// The SDK transport's documented `fetch` option, over node:http(s) so that names resolve
// through --resolve; bodies stream (SSE needs it).
async function nodeFetch(input, init = {}) {
  const request = new Request(input, init);
  const target = new URL(request.url);
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const headers = Object.fromEntries(request.headers);
  for (const name of Object.keys(headers)) if (headers[name] === 'undefined') delete headers[name];
  if (body) headers['content-length'] = String(body.length);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      target,
      { method: request.method, headers, agent: agents[target.protocol], lookup, signal: init.signal },
      (res) => {
        seen.push({ method: request.method, status: res.statusCode, type: res.headers['content-type'] ?? '' });
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        }
        const nullBody = NULL_BODY_STATUS.has(res.statusCode) || request.method === 'HEAD';
        if (nullBody) res.resume();
        resolve(new Response(nullBody ? null : Readable.toWeb(res), {
          status: res.statusCode, statusText: res.statusMessage, headers: responseHeaders,
        }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// A bearer token for `sub`, ES256, audience the tunnel's URL, valid ten minutes.
function token(sub) {
  const b64 = (value) => Buffer.from(value).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'es256' }));
  const payload = b64(JSON.stringify({
    iss: issuer, sub, aud: `${url.protocol}//${url.host}`, groups: ['mcp-users'], iat: now, exp: now + 600,
  }));
  const key = crypto.createPrivateKey(fs.readFileSync(path.join(keysDir, 'es256.pem')));
  const signature = crypto.sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${b64(signature)}`;
}
const alice = { authorization: `Bearer ${token('alice')}` };
const bob = { authorization: `Bearer ${token('bob')}` };

// A raw POST outside the SDK, for what the SDK never sends (an Origin, a stale session id).
async function rawPost(headers, message) {
  const response = await nodeFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...alice, ...headers },
    body: JSON.stringify(message),
  });
  const text = await response.text();
  return { status: response.status, text, response };
}

const summary = { ok: false, checks: {}, errors: [] };
const check = (name, condition, detail) => {
  summary.checks[name] = Boolean(condition);
  if (!condition) summary.errors.push(`${name}: ${detail ?? 'failed'}`);
};
function finish() {
  summary.requests = seen;
  summary.ok = summary.errors.length === 0 && Object.keys(summary.checks).length > 0;
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exit(summary.ok ? 0 : 1);
}
const watchdog = setTimeout(() => {
  summary.errors.push(`timed out after ${timeoutMs} ms`);
  finish();
}, timeoutMs);

async function main() {
  const client = new Client({ name: 'tunnelgate-governance-client', version: '1.0.0' });
  const logs = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params.data));
  // Unauthenticated: the relay asks for a token and says where to learn how to get one.
  const anonymous = await rawPost({ authorization: undefined }, {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'anon', version: '1' } },
  });
  const challenge = extractWWWAuthenticateParams(anonymous.response);
  check('anonymous_401', anonymous.status === 401 && challenge.resourceMetadataUrl,
    `${anonymous.status} ${anonymous.response.headers.get('www-authenticate')}`);
  if (challenge.resourceMetadataUrl) {
    const metadata = await discoverOAuthProtectedResourceMetadata(
      url, { resourceMetadataUrl: challenge.resourceMetadataUrl }, nodeFetch);
    summary.resource_metadata = metadata;
    check('resource_metadata_discovered', metadata.resource === `${url.protocol}//${url.host}` &&
      JSON.stringify(metadata.authorization_servers) === JSON.stringify([issuer]), JSON.stringify(metadata));
  }
  try {
    const stranger = new Client({ name: 'tunnelgate-anonymous-client', version: '1.0.0' });
    await stranger.connect(new StreamableHTTPClientTransport(url, { fetch: nodeFetch }));
    check('anonymous_sdk_refused', false, 'an SDK client without a token connected');
  } catch (error) {
    check('anonymous_sdk_refused', /401|Unauthorized/i.test(String(error?.message ?? error)), String(error));
  }

  const transport = new StreamableHTTPClientTransport(url, { fetch: nodeFetch, requestInit: { headers: alice } });
  await client.connect(transport);
  const session = transport.sessionId;
  summary.session = session ?? null;
  check('initialize', session, 'no Mcp-Session-Id from the server');

  const { tools } = await client.listTools();
  summary.tools = tools.map((tool) => tool.name).sort();
  check('tools_list_filtered', JSON.stringify(summary.tools) === JSON.stringify(['countdown', 'echo']),
    `tools were ${JSON.stringify(summary.tools)}`);

  const echo = await client.callTool({ name: 'echo', arguments: { text: 'allowed' } });
  check('echo', echo.content?.[0]?.text === 'allowed', JSON.stringify(echo));

  const progress = [];
  let resultSeen = false;
  const logsBefore = logs.length;
  const countdown = await client.callTool(
    { name: 'countdown', arguments: { steps: 2, delayMs: 200 } }, undefined,
    { onprogress: (p) => progress.push({ progress: p.progress, before_result: !resultSeen }), timeout: 30000 });
  resultSeen = true;
  check('countdown_result', countdown.content?.[0]?.text === 'liftoff after 2 steps', JSON.stringify(countdown));
  check('countdown_streamed', progress.length === 2 && progress.every((p) => p.before_result) &&
    logs.length - logsBefore === 2, `progress ${JSON.stringify(progress)}, logs ${JSON.stringify(logs)}`);

  try {
    const wiped = await client.callTool({ name: 'wipe', arguments: { confirm: true } });
    check('denied_tool_raises', false, `wipe answered ${JSON.stringify(wiped)}`);
  } catch (error) {
    summary.denied = { name: error?.constructor?.name, code: error?.code, message: error?.message };
    check('denied_tool_raises', error instanceof McpError && error.code === -32602 &&
      /Unknown tool: wipe/.test(error.message), JSON.stringify(summary.denied));
  }
  const again = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
  check('session_survives_denial', again.content?.[0]?.text === 'still here', JSON.stringify(again));

  const ping = { jsonrpc: '2.0', id: 'ping-1', method: 'ping' };
  const sessionHeaders = { 'mcp-session-id': session, 'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18' };
  const foreign = await rawPost({ ...sessionHeaders, origin: 'https://evil.example' }, ping);
  check('foreign_origin_403', foreign.status === 403, JSON.stringify(foreign));
  const allowedOrigin = await rawPost({ ...sessionHeaders, origin: 'https://allowed.example' }, ping);
  check('allowed_origin_passes', allowedOrigin.status === 200, JSON.stringify(allowedOrigin));
  const ownOrigin = await rawPost({ ...sessionHeaders, origin: `${url.protocol}//${url.host}` }, ping);
  check('own_origin_passes', ownOrigin.status === 200, JSON.stringify(ownOrigin));

  const stolen = await rawPost({ ...sessionHeaders, ...bob }, ping);
  check('other_subject_session_404', stolen.status === 404, `${stolen.status} ${stolen.text}`);
  const madeUp = await rawPost({ ...sessionHeaders, 'mcp-session-id': 'not-a-session-of-anyone' }, ping);
  check('unknown_session_404', madeUp.status === 404 && JSON.parse(madeUp.text).error?.code === -32001,
    JSON.stringify(madeUp));

  // The SDK's GET event stream (the metadata discovery's GET came before it).
  const get = seen.find((r) => r.method === 'GET' && r.type.startsWith('text/event-stream'));
  check('get_stream_passes', get && get.status === 200,
    `GET requests: ${JSON.stringify(seen.filter((r) => r.method === 'GET'))}`);

  await transport.terminateSession();
  const del = seen.find((r) => r.method === 'DELETE');
  check('delete_passes', del && del.status >= 200 && del.status < 300, JSON.stringify(del));
  const ended = await rawPost(sessionHeaders, ping);
  check('ended_session_404', ended.status === 404, JSON.stringify(ended));
  await client.close();
}

main()
  .catch((error) => summary.errors.push(`exception: ${error?.stack ?? error}`))
  .finally(() => {
    clearTimeout(watchdog);
    finish();
  });
