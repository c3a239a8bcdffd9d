// panva's oidc-provider (a certified OpenID Connect / OAuth 2.0 server) on loopback, for
// tests/interop.rs. Development settings only: plain http, in-memory storage, the
// built-in devInteractions login/consent pages, throwaway keys.
//
//   PORT=0 REDIRECT_URIS="http://127.0.0.1:4000/auth/callback ..." node server.mjs
//
// Environment:
//   REDIRECT_URIS              redirect URIs of every client (space/comma separated)
//   POST_LOGOUT_REDIRECT_URIS  post_logout_redirect_uris of every client (default: the
//                              origin of each redirect URI plus `/`)
//   BACKCHANNEL_LOGOUT_URI     backchannel_logout_uri of every client (none when unset)
//   RESOURCE                   the resource (audience) of the JWT access tokens the
//                              `interop-jwt` client gets (default `urn:interop:api`)
//   CLIENT_JWK                 the public JWK (JSON) of `interop-pkjwt` and `interop-par`
//                              (without it, those two clients are not registered)
//
// Clients: `interop-post` (client_secret_post), `interop-basic` (client_secret_basic),
// `interop-jwt` (client_secret_post; RFC 9068 JWT access tokens for RESOURCE),
// `interop-pkjwt` (private_key_jwt with CLIENT_JWK), `interop-par` (private_key_jwt, and
// pushed authorization requests required: RFC 9126), `interop-dpop` (private_key_jwt,
// PAR, and DPoP-bound access tokens: RFC 9449, with server nonces required for every
// DPoP proof). Secrets are `<client_id>-secret`.
//
// Prints `LISTENING http://127.0.0.1:PORT` (the issuer) once it accepts requests, then
// `EVENT ...` lines (the harness collects them):
//   auth <path> <method> <client_id>        every client-authenticated request (token,
//                                           introspection, revocation, PAR)
//   grant.success <client_id> (etc.)        oidc-provider's events, per outcome
//   id_token <jwt>                          every token response carrying an id_token
//   mutated id_token                        a MUTATE/TAMPER was applied to that response
//   end_session.success <client_id|->       RP-Initiated Logout completed
//   backchannel.success <client_id>         a logout token was delivered
//   backchannel.error <client_id> <message>
//   http <method> </me|/jwks>               userinfo and key-set requests (no client auth)
//   dpop <method> <path> <status> <scheme>  every request with a DPoP proof
//   rotated <kid>                           after ROTATE, the new signing key's kid
//   ok <COMMAND> / command.error <COMMAND> <message>   after each stdin command
//
// Commands on stdin, one per line:
//   ROTATE                   new RSA signing key; a new Provider (same config and
//                            storage) serves with jwks [new, old]; the new one signs
//   MUTATE_ID_TOKEN <json>   the next authorization_code token response's id_token gets
//                            the JSON object merged into its claims (null deletes a
//                            claim) and is re-signed with the same key
//   MUTATE_REFRESHED_ID_TOKEN <json>   the same for the next refresh_token response
//   TAMPER_ID_TOKEN          the next authorization_code token response's id_token has
//                            `email` changed without re-signing (the signature breaks)
//
// Exits when its stdin closes.
import http from 'node:http';
import readline from 'node:readline';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';
// The development in-memory adapter, created once and handed to every Provider built
// here: by default each Provider gets its own store (createMemoryAdapter makes one per
// instance), and ROTATE must keep sessions, grants and codes.
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const list = (value) => (value ?? '').split(/[\s,]+/).filter(Boolean);
const redirectUris = list(process.env.REDIRECT_URIS ?? 'http://127.0.0.1:3000/auth/callback');
const postLogoutRedirectUris = process.env.POST_LOGOUT_REDIRECT_URIS
  ? list(process.env.POST_LOGOUT_REDIRECT_URIS)
  : [...new Set(redirectUris.map((uri) => `${new URL(uri).origin}/`))];
const backchannelLogoutUri = process.env.BACKCHANNEL_LOGOUT_URI || undefined;
const RESOURCE = process.env.RESOURCE || 'urn:interop:api';
const JWT_CLIENT = 'interop-jwt';
const clientJwk = process.env.CLIENT_JWK ? JSON.parse(process.env.CLIENT_JWK) : undefined;

// Bind first: the issuer must carry the real port when `PORT` is 0.
const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const event = (line) => console.log(`EVENT ${line}`);

// Signing keys, newest first (the first one signs). `key` is the private KeyObject, for
// re-signing a mutated id_token.
const keys = [];
function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `k${keys.length + 1}-${randomBytes(6).toString('hex')}`;
  return { kid, key: privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}
keys.push(newKey());

// Every login gets this account; devInteractions accepts any login/password and uses
// the login as the account id (`sub`).
const ACCOUNT = { email: 'interop@example.test', email_verified: true, name: 'Interop User' };

const client = (id, method) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  token_endpoint_auth_method: method,
  redirect_uris: redirectUris,
  post_logout_redirect_uris: postLogoutRedirectUris,
  ...(backchannelLogoutUri
    ? { backchannel_logout_uri: backchannelLogoutUri, backchannel_logout_session_required: true }
    : {}),
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
});
const keyed = (id, extra) => {
  const { client_secret: _none, ...rest } = client(id, 'private_key_jwt');
  return { ...rest, jwks: { keys: [clientJwk] }, ...extra };
};
const clients = [
  client('interop-post', 'client_secret_post'),
  client('interop-basic', 'client_secret_basic'),
  client(JWT_CLIENT, 'client_secret_post'),
  ...(clientJwk
    ? [
      keyed('interop-pkjwt', {}),
      keyed('interop-par', { require_pushed_authorization_requests: true }),
      keyed('interop-dpop', { require_pushed_authorization_requests: true, dpop_bound_access_tokens: true }),
    ]
    : []),
];
const registered = new Map(clients.map((c) => [c.client_id, c.token_endpoint_auth_method]));

const adapter = createMemoryAdapter();

const configuration = () => ({
  adapter,
  clients: clients.map((c) => ({ ...c })),
  jwks: { keys: keys.map((k) => ({ ...k.jwk })) },
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, ...ACCOUNT }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'api:read'],
  // The id_token carries the granted scopes' claims (email, ...) for every client, not
  // only `sub` (by default they go to userinfo alone when an opaque access token is
  // issued): the OIDC tests read and tamper with them.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true }, // the development login and consent pages
    introspection: { enabled: true },   // RFC 7662; revoked tokens answer active:false
    revocation: { enabled: true },      // RFC 7009
    // RFC 9449: a nonce required in every proof (the client's one retry is exercised).
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true }, // the default; its confirmation page is a plain form
    backchannelLogout: { enabled: true },
    // RFC 8707 + RFC 9068: only `interop-jwt` defaults to a resource, whose access
    // tokens are JWTs; the other clients ask for none and keep opaque tokens that
    // userinfo accepts.
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, c, oneOf) => oneOf ?? (c?.clientId === JWT_CLIENT ? RESOURCE : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: 'openid email offline_access api:read',
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // PKCE for every client, confidential ones included (S256 is the only method in 9.x).
  pkce: { required: () => true },
  // Refresh tokens whenever offline_access was granted (it needs prompt=consent).
  issueRefreshToken: async (_ctx, c, code) =>
    c.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  // Fixed, non-secret cookie keys: this server only ever runs on loopback in tests.
  cookies: { keys: ['interop-only-not-a-secret'] },
  // Short enough to notice, long enough for a slow CI machine.
  ttl: { AccessToken: 600, AuthorizationCode: 120, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
  // oidc-provider's outgoing requests (here only the back-channel logout token) refuse
  // special-use addresses, loopback included (SSRF protection, through an undici
  // dispatcher it sets on the options). The app under test is on 127.0.0.1: drop it.
  fetch: (url, options) => {
    const { dispatcher: _ssrfGuard, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
});

// RFC 9207: oidc-provider adds `iss` to every authorization response that carries no
// id_token and is not a JWT response mode (our case), out of the box; nothing to turn on.

// --- id_token mutations (negative tests) ------------------------------------------
let pendingMutation; // { kind: 'merge', claims, grant } | { kind: 'tamper', grant } | undefined

const b64url = (value) => Buffer.from(value).toString('base64url');
const fromB64url = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

function mutate(idToken, mutation) {
  const [h, p, s] = idToken.split('.');
  const header = fromB64url(h);
  const payload = fromB64url(p);
  if (mutation.kind === 'tamper') {
    payload.email = 'mallory@example.test';
    return `${h}.${b64url(JSON.stringify(payload))}.${s}`;
  }
  for (const [name, value] of Object.entries(mutation.claims)) {
    if (value === null) delete payload[name];
    else payload[name] = value;
  }
  // Re-signed with the key that signed it (RS256, same header and kid).
  const signer = keys.find((k) => k.kid === header.kid) ?? keys[0];
  const input = `${h}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${sign('sha256', Buffer.from(input), signer.key).toString('base64url')}`;
}

// --- one Provider, built from the current keys ----------------------------------------
function buildProvider() {
  const provider = new Provider(issuer, configuration());

  for (const name of ['grant.success', 'grant.error', 'grant.revoked', 'revocation.error', 'end_session.success']) {
    provider.on(name, (ctx) => event(`${name} ${ctx?.oidc?.client?.clientId ?? '-'}`));
  }
  provider.on('end_session.error', (ctx, err) => event(`end_session.error ${ctx?.oidc?.client?.clientId ?? '-'} ${err?.message ?? err}`));
  provider.on('backchannel.success', (_ctx, c) => event(`backchannel.success ${c.clientId}`));
  provider.on('backchannel.error', (_ctx, err, c) => event(`backchannel.error ${c.clientId} ${String(err?.message ?? err).replace(/\s+/g, ' ')}`));
  provider.on('server_error', (_ctx, err) => console.error('SERVER_ERROR', err));

  // oidc-provider 9 takes client_secret_basic and client_secret_post interchangeably. To
  // prove which one the crate sends, refuse any method but the registered one at the
  // client-authenticated endpoints, and report the method used (`EVENT auth ...`).
  // At the token endpoint, report (and when asked, alter) the id_token it returns.
  const authenticated = new Set(['/token', '/token/introspection', '/token/revocation', '/request']);
  // Every request carrying a DPoP proof, with its answer's status and the scheme of its
  // Authorization header (`-` for none): `dpop <method> <path> <status> <scheme>`.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.get('dpop')) {
      const scheme = ctx.get('authorization').split(' ')[0] || '-';
      event(`dpop ${ctx.method} ${ctx.path} ${ctx.status} ${scheme}`);
    }
  });
  // Calls the app makes without client authentication: userinfo and the key set.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/me' || ctx.path === '/jwks') event(`http ${ctx.method} ${ctx.path}`);
    return next();
  });
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || !authenticated.has(ctx.path)) return next();
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    ctx.request.body = raw; // oidc-provider reads an already-read body from here
    const body = new URLSearchParams(raw);
    const basic = /^basic (.+)$/i.exec(ctx.get('authorization'));
    const [method, clientId] = basic
      ? ['client_secret_basic', decodeURIComponent(Buffer.from(basic[1], 'base64').toString().split(':')[0])]
      : body.has('client_assertion')
        ? ['private_key_jwt', body.get('client_id')]
        : ['client_secret_post', body.get('client_id')];
    event(`auth ${ctx.path} ${method} ${clientId}`);
    if (registered.has(clientId) && registered.get(clientId) !== method) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: `${clientId} must use ${registered.get(clientId)}` };
      return undefined;
    }
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200) return undefined;
    // The token action leaves a plain object in ctx.body; Koa serializes it later.
    const response = ctx.body;
    if (!response || typeof response !== 'object' || typeof response.id_token !== 'string') return undefined;
    if (pendingMutation && body.get('grant_type') === pendingMutation.grant) {
      const mutation = pendingMutation;
      pendingMutation = undefined;
      ctx.body = { ...response, id_token: mutate(response.id_token, mutation) };
      event('mutated id_token');
    }
    event(`id_token ${ctx.body.id_token}`);
    return undefined;
  });

  return provider;
}

let handler = buildProvider().callback();
server.on('request', handler);

function rotate() {
  const key = newKey();
  keys.unshift(key);
  const next = buildProvider().callback();
  server.removeListener('request', handler);
  server.on('request', next);
  handler = next;
  event(`rotated ${key.kid}`);
}

function command(line) {
  const [verb, ...rest] = line.trim().split(' ');
  const arg = rest.join(' ').trim();
  try {
    switch (verb) {
      case '':
        return;
      case 'ROTATE':
        rotate();
        break;
      case 'MUTATE_ID_TOKEN':
      case 'MUTATE_REFRESHED_ID_TOKEN': {
        const claims = JSON.parse(arg);
        if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('expected a JSON object');
        const grant = verb === 'MUTATE_ID_TOKEN' ? 'authorization_code' : 'refresh_token';
        pendingMutation = { kind: 'merge', claims, grant };
        break;
      }
      case 'TAMPER_ID_TOKEN':
        pendingMutation = { kind: 'tamper', grant: 'authorization_code' };
        break;
      default:
        throw new Error('unknown command');
    }
    event(`ok ${verb}`);
  } catch (err) {
    event(`command.error ${verb} ${String(err?.message ?? err).replace(/\s+/g, ' ')}`);
  }
}

console.log(`LISTENING ${issuer}`);

// The harness kills us; also end when it closes our stdin or asks politely.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
readline.createInterface({ input: process.stdin, terminal: false })
  .on('line', command)
  .on('close', () => process.exit(0));
