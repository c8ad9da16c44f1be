// A real OpenID provider for the test suite: npm `oidc-provider` (a certified implementation,
// pinned in package.json) on 127.0.0.1, with the test clients and accounts of a JSON file, its
// own plain login page, and a few test-control endpoints under /__test/.
//
// FOR TESTS ONLY. It listens on loopback, keeps everything in memory, and its /__test/
// endpoints let anyone who can reach it change what it signs. Never run it anywhere else.
//
// Usage:
//   node tests/oidc_provider/provider.mjs --port PORT [--issuer URL] --config FILE
//   (or OIDC_TEST_PORT, OIDC_TEST_ISSUER, OIDC_TEST_CONFIG in the environment)
// The issuer defaults to http://127.0.0.1:PORT. When it listens it prints one line,
// `READY http://127.0.0.1:PORT`, on stdout. It exits on SIGTERM/SIGINT, and when its stdin
// closes (unless stdin is a terminal), so it never outlives the test run that started it.
// Nothing secret (passwords, client secrets, tokens, keys) is logged; errors go to stderr.
//
// The config file:
// {
//   "clients": [{                                  // oidc-provider client metadata, as registered
//     "client_id": "registry",
//     "client_secret": "…",                        // or "jwks": {"keys": [public JWK]} for private_key_jwt
//     "token_endpoint_auth_method": "client_secret_basic",   // or client_secret_post / private_key_jwt
//     "redirect_uris": ["http://127.0.0.1:5000/login/oidc/callback"],
//     "post_logout_redirect_uris": ["http://127.0.0.1:5000/"],
//     "backchannel_logout_uri": "http://127.0.0.1:5000/login/oidc/backchannel-logout",
//     "backchannel_logout_session_required": true,
//     "id_token_signed_response_alg": "RS256",     // the default
//     "require_auth_time": true                    // the default here: auth_time is always in the ID token
//   }],
//   "accounts": [{
//     "login": "alex", "password": "…",            // what the login page accepts
//     "amr": ["pwd", "mfa"], "acr": "urn:…:mfa",   // optional: what the sign-in asserts
//     "claims": {"sub": "…", "email": "…", "name": "…", "tid": "…", "oid": "…",
//                "roles": ["…"], "groups": ["…"]}  // put in the ID token (and userinfo) as they are
//   }]
// }
// Every claim of an account goes into the ID token (conformIdTokenClaims is off): sub, tid, oid,
// roles and groups with the `openid` scope, email/email_verified with `email`, name and
// preferred_username with `profile`. The ID token also carries sid (always), auth_time, amr and acr.
// An account's amr/acr are asserted by every sign-in with it (there is no second step to pass).
// PKCE (S256) is required of every client; `max_age` and `prompt=login` make the login page
// appear again. RP-initiated logout (/session/end) shows a "Sign out" form; confirming it sends
// back-channel logout tokens to the clients of that session that have a backchannel_logout_uri.
//
// Test-control endpoints (POST, JSON body, JSON answer; 400 with {"error": "…"} on bad input):
//   /__test/rotate-keys   {"drop_old": false}  A new RSA key (new kid) signs from now on; the JWKS
//                         publishes it first, and keeps the previous keys unless drop_old.
//                         → {"kid": new, "previous_kid": old, "published": [kids]}
//   /__test/bad-key       {}  The JWKS publishes a different public key under the signing key's
//                         kid, so signatures no longer verify ("bad signature"). → {"kid"}
//   /__test/clock         {"seconds": N}  The provider's clock runs N seconds off real time
//                         (Date.now is shifted): with N = -7200 its tokens are already expired,
//                         with N > 0 they are issued in the future (and a private_key_jwt
//                         client's assertions look expired to it, as with a real fast clock). → {"seconds": N}
//   /__test/backchannel-logout  {"client_id", "sub", "sid"?, "uri"?}  Signs a logout token for
//                         sub (with sid: the one given, else the sid of sub's latest sign-in at
//                         that client) and POSTs it to the client's backchannel_logout_uri (or uri).
//                         → {"status": HTTP status the receiver answered, "logout_token", "sid"}
//   /__test/next-id-token {"claims": {...}, "client_id"?}  The next ID token issued (to that client,
//                         or any) carries these claims instead (null removes one): a used nonce, a
//                         wrong tid, an old auth_time, no amr… Not aud, iss or exp. → the same back
//   /__test/client        {client metadata}  Registers (or replaces) a client while running, e.g.
//                         once the relying party's port is known. → {"client_id"}
//   /__test/reset         {}  Back to the first signing key, a true clock, an honest JWKS and no
//                         pending ID token change (clients added stay).
//   GET /__test/state     → {"kid", "published", "clock_seconds", "bad_key", "next_id_token"}

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';
// The provider's private state (its keystore and published JWKS) lives here; no public API
// swaps signing keys in a running provider, and a restart would lose every session.
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_TEST_PORT },
    issuer: { type: 'string', default: process.env.OIDC_TEST_ISSUER },
    config: { type: 'string', default: process.env.OIDC_TEST_CONFIG },
  },
});

function fail(message) {
  process.stderr.write(`oidc test provider: ${message}\n`);
  process.exit(2);
}

const port = Number.parseInt(args.port ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail('--port must be a port number');
if (!args.config) fail('--config must name the JSON config file');
const issuer = args.issuer || `http://127.0.0.1:${port}`;

let config;
try {
  config = JSON.parse(readFileSync(args.config, 'utf8'));
} catch (error) {
  fail(`cannot read the config file: ${error.message}`);
}
const accounts = config.accounts ?? [];
for (const account of accounts) {
  if (!account.login || !account.password || !account.claims?.sub) {
    fail('every account needs "login", "password" and "claims.sub"');
  }
}

// --- the clock -------------------------------------------------------------------------
const realNow = Date.now.bind(Date);
let clockShiftSeconds = 0;
Date.now = () => realNow() + clockShiftSeconds * 1000;

// --- keys ------------------------------------------------------------------------------
let keyCounter = 0;
function newSigningKey() {
  keyCounter += 1;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `test-key-${keyCounter}-${crypto.randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

function publicPart(jwk) {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}

const firstKey = newSigningKey();
let signingKeys = [firstKey]; // newest first: the first one signs
let publishedKeys = [publicPart(firstKey)];
let badKey = false;

// --- accounts --------------------------------------------------------------------------
const bySub = new Map(accounts.map((account) => [account.claims.sub, account]));
const byLogin = new Map(accounts.map((account) => [account.login, account]));

function findAccount(_ctx, sub) {
  const account = bySub.get(sub);
  if (!account) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { email_verified: account.claims.email ? true : undefined, ...account.claims, sub };
    },
  };
}

const acrValues = [...new Set(accounts.map((account) => account.acr).filter(Boolean))];

// --- pages -----------------------------------------------------------------------------
const escape = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escape(title)} - Test identity provider</title>
</head>
<body>
<main>
<h1>${escape(title)}</h1>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, clientId, username = '', error = '') {
  const problem = error ? `<p role="alert" id="error">${escape(error)}</p>` : '';
  return page(
    'Sign in to the test identity provider',
    `<p>Signing in to ${escape(clientId)}.</p>
${problem}
<form method="post" action="/interaction/${escape(uid)}/login">
<p><label for="username">Username</label>
<input id="username" name="username" type="text" value="${escape(username)}" autocomplete="username" required autofocus></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

async function logoutSource(ctx, form) {
  ctx.body = page('Sign out of the test identity provider', `${form}
<p><button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button></p>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = page('You have signed out', '<p>You have signed out of the test identity provider.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page(
    'Sign-in error',
    `<p id="error">${escape(out.error)}: ${escape(out.error_description)}</p>`,
  );
}

// --- the provider ----------------------------------------------------------------------
const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
    token_endpoint_auth_method: 'client_secret_basic',
    require_auth_time: true,
  },
  jwks: { keys: [firstKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  findAccount,
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    iss: null,
    sid: null,
    // acr and amr with openid: Entra ID puts them in every ID token, not only when asked for.
    openid: ['sub', 'acr', 'amr', 'tid', 'oid', 'roles', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  conformIdTokenClaims: false,
  acrValues,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    backchannelLogout: { enabled: true },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Long enough that a shifted clock (below) does not expire the login page's cookies.
  ttl: { Interaction: 86400, Session: 14 * 86400, Grant: 14 * 86400, AccessToken: 3600, IdToken: 3600 },
  renderError,
  // The relying parties under test listen on loopback, which oidc-provider's SSRF guard refuses.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
});

// Entra ID puts sid in every ID token; oidc-provider only for clients that require it.
provider.Client.prototype.includeSid = () => true;

const internal = instance(provider);

// /__test/next-id-token: claims to change in the next ID token issued (null removes a claim).
let nextIdToken = null;
const { issue, payload } = provider.IdToken.prototype;
provider.IdToken.prototype.issue = async function issueWithOverrides(options = {}) {
  const wanted = nextIdToken;
  if (options.use === 'idtoken' && wanted && (!wanted.client_id || wanted.client_id === this.client.clientId)) {
    nextIdToken = null;
    this.overrides = wanted.claims;
  }
  return issue.call(this, options);
};
provider.IdToken.prototype.payload = async function payloadWithOverrides() {
  const claims = await payload.call(this);
  for (const [name, value] of Object.entries(this.overrides ?? {})) {
    if (value === null) delete claims[name];
    else claims[name] = value;
  }
  return claims;
};

function installKeys() {
  internal.keystore.clear();
  for (const key of signingKeys) internal.keystore.add(structuredClone(key));
  internal.jwks = { keys: publishedKeys.map((key) => ({ ...key })) };
}

// The latest sid of each (client, sub), for /__test/backchannel-logout without a sid.
const latestSid = new Map();
provider.on('authorization.success', (ctx) => {
  const { session, client } = ctx.oidc;
  if (session?.accountId && client) {
    latestSid.set(`${client.clientId} ${session.accountId}`, session.sidFor(client.clientId));
  }
});
provider.on('server_error', (_ctx, error) => {
  process.stderr.write(`oidc test provider: server error: ${error.name}: ${error.message}\n`);
});

// --- interactions ----------------------------------------------------------------------
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1_000_000) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function autoConsent(req, res, details) {
  const { prompt: { details: missing }, params, session: { accountId } } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, 'text/html; charset=utf-8', page('Sign-in error', '<p>This sign-in has expired.</p>'));
    return;
  }
  const clientId = details.params.client_id;
  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'consent') {
      await autoConsent(req, res, details);
      return;
    }
    send(res, 200, 'text/html; charset=utf-8', loginPage(uid, clientId));
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const form = new URLSearchParams(await readBody(req));
    const username = form.get('username') ?? '';
    const account = byLogin.get(username);
    if (!account || !crypto.timingSafeEqual(
      crypto.hash('sha256', form.get('password') ?? '', 'buffer'),
      crypto.hash('sha256', account.password, 'buffer'),
    )) {
      send(res, 200, 'text/html; charset=utf-8', loginPage(uid, clientId, username, 'The username or password is wrong.'));
      return;
    }
    const login = { accountId: account.claims.sub };
    if (account.amr) login.amr = account.amr;
    if (account.acr) login.acr = account.acr;
    await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
    return;
  }
  send(res, 405, 'text/plain', 'method not allowed');
}

// --- test control ----------------------------------------------------------------------
class BadInput extends Error {}

async function sendLogoutToken({ client_id: clientId, sub, sid, uri }) {
  if (typeof clientId !== 'string' || typeof sub !== 'string') throw new BadInput('client_id and sub are required');
  const client = await provider.Client.find(clientId);
  if (!client) throw new BadInput(`no client ${clientId}`);
  const target = uri ?? client.backchannelLogoutUri;
  if (!target) throw new BadInput(`client ${clientId} has no backchannel_logout_uri`);
  const sessionId = sid ?? latestSid.get(`${clientId} ${sub}`);
  // What Client#backchannelLogout does, keeping the token so the test can replay it.
  const token = new provider.IdToken({ sub }, { client, ctx: undefined });
  token.mask = { sub: null };
  token.set('events', { 'http://schemas.openid.net/event/backchannel-logout': {} });
  token.set('jti', crypto.randomUUID());
  if (sessionId) token.set('sid', sessionId);
  const logoutToken = await token.issue({ use: 'logout' });
  const response = await globalThis.fetch(target, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: logoutToken }),
    signal: AbortSignal.timeout(10000),
  });
  await response.arrayBuffer();
  return { status: response.status, logout_token: logoutToken, sid: sessionId ?? null };
}

function state() {
  return {
    kid: signingKeys[0].kid,
    published: publishedKeys.map((key) => key.kid),
    clock_seconds: clockShiftSeconds,
    bad_key: badKey,
    next_id_token: nextIdToken,
  };
}

const controls = {
  'rotate-keys': ({ drop_old: dropOld = false }) => {
    const previous = signingKeys[0];
    const key = newSigningKey();
    signingKeys = dropOld ? [key] : [key, ...signingKeys];
    publishedKeys = dropOld ? [publicPart(key)] : [publicPart(key), ...publishedKeys];
    installKeys();
    return { kid: key.kid, previous_kid: previous.kid, published: publishedKeys.map((k) => k.kid) };
  },
  'bad-key': () => {
    const { kid } = signingKeys[0];
    const impostor = { ...publicPart(newSigningKey()), kid };
    publishedKeys = publishedKeys.map((key) => (key.kid === kid ? impostor : key));
    badKey = true;
    installKeys();
    return { kid };
  },
  clock: ({ seconds }) => {
    if (!Number.isInteger(seconds)) throw new BadInput('seconds must be a whole number');
    clockShiftSeconds = seconds;
    return { seconds };
  },
  'backchannel-logout': sendLogoutToken,
  'next-id-token': ({ claims, client_id: clientId }) => {
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new BadInput('claims must be a JSON object');
    const fixed = ['aud', 'iss', 'exp'].filter((name) => Object.hasOwn(claims, name));
    if (fixed.length) throw new BadInput(`${fixed.join(', ')} cannot be changed (use another client, issuer or the clock)`);
    nextIdToken = { claims, client_id: clientId };
    return { claims, client_id: clientId ?? null };
  },
  client: async (metadata) => {
    if (typeof metadata.client_id !== 'string') throw new BadInput('client_id is required');
    try {
      new provider.Client(structuredClone(metadata)); // validates, throws on bad metadata
    } catch (error) {
      throw new BadInput(`${error.message}${error.error_description ? `: ${error.error_description}` : ''}`);
    }
    internal.staticClients ??= new Map();
    internal.staticClients.set(metadata.client_id, structuredClone(metadata));
    return { client_id: metadata.client_id };
  },
  reset: () => {
    signingKeys = [firstKey];
    publishedKeys = [publicPart(firstKey)];
    badKey = false;
    clockShiftSeconds = 0;
    nextIdToken = null;
    installKeys();
    return state();
  },
};

async function control(req, res, name) {
  if (req.method === 'GET' && name === 'state') {
    send(res, 200, 'application/json', JSON.stringify(state()));
    return;
  }
  const handler = Object.hasOwn(controls, name) ? controls[name] : undefined;
  if (!handler || req.method !== 'POST') {
    send(res, 404, 'application/json', JSON.stringify({ error: `no control ${req.method} /__test/${name}` }));
    return;
  }
  let input;
  try {
    const text = await readBody(req);
    input = text ? JSON.parse(text) : {};
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new BadInput('the body must be a JSON object');
  } catch (error) {
    send(res, 400, 'application/json', JSON.stringify({ error: error.message }));
    return;
  }
  try {
    send(res, 200, 'application/json', JSON.stringify(await handler(input)));
  } catch (error) {
    send(res, error instanceof BadInput ? 400 : 502, 'application/json', JSON.stringify({ error: error.message }));
  }
}

// --- the server ------------------------------------------------------------------------
const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  try {
    let match;
    if ((match = /^\/__test\/([a-z-]+)$/.exec(pathname))) {
      await control(req, res, match[1]);
    } else if ((match = /^\/interaction\/([\w-]+)(?:\/(login))?$/.exec(pathname))) {
      await interaction(req, res, match[1], match[2]);
    } else if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      callback(req, res);
    }
  } catch (error) {
    process.stderr.write(`oidc test provider: ${req.method} ${pathname}: ${error.name}: ${error.message}\n`);
    if (!res.headersSent) {
      send(res, 400, 'text/html; charset=utf-8', page('Sign-in error', `<p id="error">${escape(error.message)}</p>`));
    } else {
      res.end();
    }
  }
});

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!process.stdin.isTTY) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

server.on('error', (error) => fail(`cannot listen on 127.0.0.1:${port}: ${error.message}`));
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${port}\n`);
});
