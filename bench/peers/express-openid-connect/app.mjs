// Benchmark peer: an Express app whose /me is protected by express-openid-connect, returning
// the logged-in user as JSON.
//
// Environment:
//   ISSUER         the OpenID Provider's issuer (issuerBaseURL)
//   APP_URL        this app's base URL, e.g. http://127.0.0.1:4200 (it listens on its port)
//   CLIENT_ID      default `interop-post` (client_secret_post)
//   CLIENT_SECRET  default `<CLIENT_ID>-secret`
//   SESSION_SECRET default a fixed bench-only string (appSession cookie encryption)
//
// Prints `LISTENING <APP_URL>` once it accepts connections.
import express from 'express';
import eoc from 'express-openid-connect';

const { auth, requiresAuth } = eoc;

const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
};
const issuerBaseURL = need('ISSUER');
const baseURL = need('APP_URL');
const clientID = process.env.CLIENT_ID || 'interop-post';
const clientSecret = process.env.CLIENT_SECRET || `${clientID}-secret`;

const app = express();
app.use(
  auth({
    issuerBaseURL,
    baseURL,
    clientID,
    clientSecret,
    clientAuthMethod: 'client_secret_post',
    secret: process.env.SESSION_SECRET || 'bench-only-not-a-secret-0123456789',
    authRequired: false,
    idpLogout: false,
    authorizationParams: { response_type: 'code', scope: 'openid email profile' },
  }),
);

// The same user JSON (243 bytes) every row of the benchmark returns, held in memory;
// served only once requiresAuth() has accepted the session.
const USER = {
  sub: 'u-1001', email: 'owner@example.com', role: 'owner', type: 'staff',
  business_id: 'b-42', business_uid: 'biz_42', business_name: 'Demo Salon',
  directory_uid: 'dir-1', brand_host: 'app.vcita.com', brand_theme: { primary_color: '#1a73e8' },
};

app.get('/me', requiresAuth(), (req, res) => {
  if (!req.oidc.user?.sub) return res.status(401).end();
  res.json(USER);
});

app.get('/health', (_req, res) => res.send('ok'));

const { port } = new URL(baseURL);
const server = app.listen(Number(port), '127.0.0.1', () => console.log(`LISTENING ${baseURL}`));
// Exit at once: load.sh stops us between rounds; keep-alive connections need no draining.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
