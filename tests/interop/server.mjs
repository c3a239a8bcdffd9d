// panva's oidc-provider (a certified OpenID Connect / OAuth 2.0 server) on loopback, for
// tests/interop.rs. Development settings only: plain http, in-memory storage, the
// built-in devInteractions login/consent pages, throwaway keys.
//
//   PORT=0 REDIRECT_URIS="http://127.0.0.1:4000/auth/callback ..." node server.mjs
//
// Prints `LISTENING http://127.0.0.1:PORT` (the issuer) once it accepts requests, then
// `EVENT auth <path> <method> <client_id>` for every client-authenticated request and
// `EVENT grant.success <client_id>` (etc.) per outcome, so the harness can tell whether
// and how a token request was made. Exits when its stdin closes.
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const redirectUris = (process.env.REDIRECT_URIS ?? 'http://127.0.0.1:3000/auth/callback')
  .split(/[\s,]+/)
  .filter(Boolean);

// Bind first: the issuer must carry the real port when `PORT` is 0.
const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

// Every login gets this account; devInteractions accepts any login/password and uses
// the login as the account id (`sub`).
const ACCOUNT = { email: 'interop@example.test', email_verified: true, name: 'Interop User' };

const client = (id, method) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  token_endpoint_auth_method: method,
  redirect_uris: redirectUris,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
});

const provider = new Provider(issuer, {
  clients: [
    client('interop-post', 'client_secret_post'),
    client('interop-basic', 'client_secret_basic'),
  ],
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, ...ACCOUNT }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  features: {
    devInteractions: { enabled: true }, // the development login and consent pages
    introspection: { enabled: true },   // RFC 7662; revoked tokens answer active:false
    revocation: { enabled: true },      // RFC 7009
    userinfo: { enabled: true },
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
});

// RFC 9207: oidc-provider adds `iss` to every authorization response that carries no
// id_token and is not a JWT response mode (our case), out of the box; nothing to turn on.

for (const name of ['grant.success', 'grant.error', 'grant.revoked', 'revocation.error']) {
  provider.on(name, (ctx) => console.log(`EVENT ${name} ${ctx?.oidc?.client?.clientId ?? '-'}`));
}
provider.on('server_error', (_ctx, err) => console.error('SERVER_ERROR', err));

// oidc-provider 9 takes client_secret_basic and client_secret_post interchangeably. To
// prove which one the crate sends, refuse any method but the registered one at the
// client-authenticated endpoints, and report the method used (`EVENT auth ...`).
const registered = new Map([['interop-post', 'client_secret_post'], ['interop-basic', 'client_secret_basic']]);
const authenticated = new Set(['/token', '/token/introspection', '/token/revocation']);
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
    : ['client_secret_post', body.get('client_id')];
  console.log(`EVENT auth ${ctx.path} ${method} ${clientId}`);
  if (registered.has(clientId) && registered.get(clientId) !== method) {
    ctx.status = 401;
    ctx.body = { error: 'invalid_client', error_description: `${clientId} must use ${registered.get(clientId)}` };
    return undefined;
  }
  return next();
});

server.on('request', provider.callback());
console.log(`LISTENING ${issuer}`);

// The harness kills us; also end when it closes our stdin or asks politely.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
