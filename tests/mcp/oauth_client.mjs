// An MCP client of the official TypeScript SDK (1.32) that signs in with the SDK's own OAuth
// flow, for the relay's sign-in tests: an OAuthClientProvider written here, the browser step
// left to the test.
//
//   node oauth_client.mjs URL --state FILE [--resolve HOST:ADDR]... [--cimd URL]
//                        [--call TOOL]... [--timeout-ms N]
//
// When the SDK wants the browser to visit the authorization URL, this prints
//   {"event":"authorize","url":"https://auth…/authorize?…"}
// and reads one line from standard input: the URL the browser was finally sent to (the
// client's redirect URI with code, state and iss). It checks state and iss, hands the code to
// the SDK (finishAuth) and connects again. The client's registration and tokens are kept in
// FILE (JSON), so a second run uses them (a refresh, a remembered consent). --cimd makes the
// client identify itself with a Client ID Metadata Document at that URL instead of DCR.
//
// Then it lists the tools and calls each --call TOOL (echo gets {"text":"hi"}) and prints one
// JSON line: {"event":"done","tools":[…],"calls":{TOOL:{"ok":…,"text"|"error":…}},
// "authorizations":N,"token_requests":[…statuses]} ; exit 0 when the session worked.
import fs from 'node:fs';
import readline from 'node:readline';
import crypto from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { parseResolve, resolvingFetch } from './resolving_fetch.mjs';

const args = process.argv.slice(2);
let url;
let stateFile;
let cimd;
let timeoutMs = 60000;
const calls = [];
const resolveTable = new Map();
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--resolve') resolveTable.set(...parseResolve(args[++i] ?? ''));
  else if (arg === '--state') stateFile = args[++i];
  else if (arg === '--cimd') cimd = args[++i];
  else if (arg === '--call') calls.push(args[++i]);
  else if (arg === '--timeout-ms') timeoutMs = Number.parseInt(args[++i] ?? '', 10);
  else if (url === undefined) url = new URL(arg);
  else throw new Error(`unexpected argument ${arg}`);
}
if (!url || !stateFile) throw new Error('usage: node oauth_client.mjs URL --state FILE ...');

const REDIRECT = 'http://127.0.0.1:7/callback';  // nothing listens: the test reads the URL
const tokenRequests = [];
const fetch = resolvingFetch(resolveTable, {
  onResponse: (request, res) => {
    if (new URL(request.url).pathname === '/token') tokenRequests.push(res.statusCode);
  },
});
const out = (object) => process.stdout.write(JSON.stringify(object) + '\n');
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
setTimeout(() => {
  out({ event: 'error', error: `timed out after ${timeoutMs} ms` });
  process.exit(1);
}, timeoutMs).unref();

class Provider {
  constructor(file) {
    this.file = file;
    this.saved = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
    this.authorizations = 0;
    this.expectedState = undefined;
  }
  save() { fs.writeFileSync(this.file, JSON.stringify(this.saved, null, 2)); }
  get redirectUrl() { return REDIRECT; }
  get clientMetadataUrl() { return cimd; }
  get clientMetadata() {
    return {
      client_name: 'tunnelgate sign-in test',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    this.expectedState = crypto.randomBytes(16).toString('hex');
    return this.expectedState;
  }
  clientInformation() { return this.saved.client; }
  saveClientInformation(client) { this.saved.client = client; this.save(); }
  tokens() { return this.saved.tokens; }
  saveTokens(tokens) { this.saved.tokens = tokens; this.save(); }
  saveCodeVerifier(verifier) { this.saved.verifier = verifier; this.save(); }
  codeVerifier() { return this.saved.verifier; }
  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'tokens') delete this.saved.tokens;
    if (scope === 'all' || scope === 'client') delete this.saved.client;
    this.save();
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizations += 1;
    this.pending = authorizationUrl.toString();
  }
}

const provider = new Provider(stateFile);

async function browserStep() {
  out({ event: 'authorize', url: provider.pending });
  const { value, done } = await lines.next();
  if (done) throw new Error('no callback URL on standard input');
  const callback = new URL(value.trim());
  if (callback.searchParams.get('error')) {
    throw new Error(`authorization refused: ${callback.searchParams.get('error')}`);
  }
  if (callback.searchParams.get('state') !== provider.expectedState) throw new Error('state differs');
  const issuer = new URL(provider.pending).origin;
  if (callback.searchParams.get('iss') !== issuer) throw new Error(`iss is not ${issuer}`);
  return callback.searchParams.get('code');
}

async function connect() {
  for (let attempt = 0; attempt < 3; attempt++) {
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch });
    const client = new Client({ name: 'tunnelgate-oauth-test', version: '1.0.0' });
    try {
      await client.connect(transport);
      return client;
    } catch (error) {
      if (!(error instanceof UnauthorizedError) || provider.pending === undefined) throw error;
      const code = await browserStep();
      provider.pending = undefined;
      await transport.finishAuth(code);
    }
  }
  throw new Error('could not connect after signing in');
}

try {
  const client = await connect();
  const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
  const results = {};
  for (const name of calls) {
    try {
      const result = await client.callTool({ name, arguments: name === 'echo' ? { text: 'hi' } : {} });
      results[name] = result.isError
        ? { ok: false, error: result.content?.[0]?.text ?? 'isError' }
        : { ok: true, text: result.content?.[0]?.text };
    } catch (error) {
      results[name] = { ok: false, error: String(error.message ?? error), code: error.code };
    }
  }
  await client.close();
  out({ event: 'done', tools, calls: results, authorizations: provider.authorizations,
        token_requests: tokenRequests });
  process.exit(0);
} catch (error) {
  out({ event: 'error', error: String(error.stack ?? error), authorizations: provider.authorizations,
        token_requests: tokenRequests });
  process.exit(1);
}
