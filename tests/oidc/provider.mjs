// A real OpenID Provider (the npm package oidc-provider) for the sign-in tests, served over
// HTTPS on a loopback port.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"port", "cert", "key" (PEM files), "issuer" ("https://127.0.0.1:PORT"),
// "clients": [{"client_id", "client_secret", "redirect_uris", "token_endpoint_auth_method"?}],
// "faults": [...]} where faults provoke what a relay must refuse:
//   "wrong-issuer"    the discovery document names another issuer;
//   "tamper-id-token" the token endpoint's id_token has one signature byte changed;
//   "post-only"       discovery lists client_secret_post as the only client authentication.
// It prints "ready PORT" once listening.
//
// The people: alice@example.com (groups eng, admins), bob@example.com (sales),
// carol@other.test (no groups), and dave@example.com whose email is not verified. The login
// page is a plain HTML form (POST login=EMAIL) and consent is given automatically, so a test
// signs in with nothing but HTTP and a cookie jar.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const faults = new Set(config.faults ?? []);

const people = {
  'alice@example.com': { name: 'Alice Example', groups: ['eng', 'admins'], email_verified: true },
  'bob@example.com': { name: 'Bob Example', groups: ['sales'], email_verified: true },
  'carol@other.test': { name: 'Carol Other', groups: [], email_verified: true },
  'dave@example.com': { name: 'Dave Unverified', groups: ['eng'], email_verified: false },
};
// A stable subject per person that is not the email, as real providers do.
const subjectOf = (email) => 'sub-' + email.replace(/[^a-z0-9]/g, '-');
const emailOf = Object.fromEntries(Object.keys(people).map((email) => [subjectOf(email), email]));

const provider = new Provider(config.issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  async findAccount(ctx, id) {
    const email = emailOf[id];
    if (!email) return undefined;
    const person = people[email];
    return {
      accountId: id,
      async claims() {
        return { sub: id, email, email_verified: person.email_verified, name: person.name,
                 groups: person.groups };
      },
    };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
  // Scope claims go in the id_token too (the relay reads only the id_token).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['tunnelgate-test-cookie-key'] },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600,
         Grant: 600 },
});
provider.proxy = false;

// The faults: edits of the answers the provider has just built.
provider.use(async (ctx, next) => {
  // oidc-provider takes either client authentication whatever the client registered: with
  // post-only, Basic is refused here as a provider that lists only post would.
  if (faults.has('post-only') && ctx.path === '/token' && ctx.get('authorization')) {
    ctx.status = 401;
    ctx.body = { error: 'invalid_client', error_description: 'client_secret_basic not accepted' };
    return;
  }
  await next();
  if (faults.has('wrong-issuer') && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
    ctx.body = { ...ctx.body, issuer: 'https://impostor.invalid' };
  }
  if (faults.has('post-only') && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
    ctx.body = { ...ctx.body, token_endpoint_auth_methods_supported: ['client_secret_post'] };
  }
  if (faults.has('tamper-id-token') && ctx.path === '/token' && ctx.body?.id_token) {
    const [head, payload, signature] = ctx.body.id_token.split('.');
    const flipped = (signature[5] === 'A' ? 'B' : 'A');
    ctx.body = { ...ctx.body,
                 id_token: [head, payload, signature.slice(0, 5) + flipped + signature.slice(6)].join('.') };
  }
});

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; if (body.length > 65536) req.destroy(); });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (req.method === 'GET' && prompt.name === 'login') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Test sign-in</title>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<input name="login" type="email"><button>Sign in</button></form>`);
    return;
  }
  if (req.method === 'POST' && req.url.endsWith('/login')) {
    const form = await readBody(req);
    const email = (form.get('login') ?? '').toLowerCase();
    if (!people[email]) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('unknown person\n');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: subjectOf(email) } },
                                       { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } },
                                       { mergeWithLastSubmission: true });
    return;
  }
  res.writeHead(400, { 'content-type': 'text/plain' });
  res.end(`unexpected interaction ${prompt.name}\n`);
}

const callback = provider.callback();
const server = https.createServer(
  { cert: readFileSync(config.cert), key: readFileSync(config.key) },
  (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${error}\n`);
      });
      return;
    }
    callback(req, res);
  });
server.listen(config.port, '127.0.0.1', () => console.log(`ready ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
