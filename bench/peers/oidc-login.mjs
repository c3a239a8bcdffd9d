// One browser-less login through oidc-provider's devInteractions pages, for a peer app.
//
//   node oidc-login.mjs <start URL on the peer, e.g. http://127.0.0.1:4100/me>
//
// GETs the start URL and follows every redirect by hand (to oidc-provider and back),
// keeping one cookie jar per origin. On an oidc-provider page it submits the page's first
// form with its hidden fields (plus `login`/`password` on the login page; the consent
// page is a plain submit), as tests/interop/harness/walk.rs `walk_provider` does. Ends on the
// first non-redirect answer from the peer's origin, which must be a 200; then prints the
// peer origin's cookies as one `Cookie:` header value on stdout (the trace goes to stderr).
const start = new URL(process.argv[2] ?? '');
const peerOrigin = start.origin;
const LOGIN = process.env.LOGIN ?? 'bench-user';

const jars = new Map(); // origin -> Map(name -> value)
const jar = (origin) => jars.get(origin) ?? jars.set(origin, new Map()).get(origin);

function store(url, res) {
  const cookies = jar(url.origin);
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const gone = attrs.some((a) => {
      const [k, v = ''] = a.split('=');
      if (/^max-age$/i.test(k)) return Number(v) <= 0;
      if (/^expires$/i.test(k)) return Date.parse(v) <= Date.now();
      return false;
    });
    if (gone || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
}

const cookieHeader = (origin) =>
  [...jar(origin)].map(([k, v]) => `${k}=${v}`).join('; ');

async function request(url, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  const cookie = cookieHeader(url.origin);
  if (cookie) headers.cookie = cookie;
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  store(url, res);
  console.error(`login: ${init.method ?? 'GET'} ${url.origin}${url.pathname} -> ${res.status}`);
  return res;
}

const unescape = (s) =>
  s.replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'").replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const attr = (tag, name) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return m ? unescape(m[1] ?? m[2]) : undefined;
};

// The first <form> of a page: action, hidden fields, names of the other inputs.
function parseForm(html) {
  const start = html.indexOf('<form');
  if (start < 0) return undefined;
  const end = html.indexOf('</form>', start);
  const form = html.slice(start, end < 0 ? html.length : end);
  const action = attr(form.slice(0, form.indexOf('>')), 'action');
  const hidden = [];
  const inputs = [];
  for (const m of form.matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(m[0], 'name');
    if (!name) continue;
    if ((attr(m[0], 'type') ?? '').toLowerCase() === 'hidden') hidden.push([name, attr(m[0], 'value') ?? '']);
    else inputs.push(name);
  }
  return { action, hidden, inputs };
}

let url = start;
let res = await request(url);
for (let step = 0; step < 20; step += 1) {
  if (res.status >= 300 && res.status < 400) {
    url = new URL(res.headers.get('location'), url);
    res = await request(url);
    continue;
  }
  const text = await res.text();
  if (url.origin === peerOrigin) {
    if (res.status !== 200) {
      console.error(`login: the peer answered ${res.status} at ${url}:\n${text.slice(0, 2000)}`);
      process.exit(1);
    }
    console.error(`login: logged in; the peer answered ${url.pathname}: ${text.slice(0, 200)}`);
    console.log(cookieHeader(peerOrigin));
    process.exit(0);
  }
  const form = res.status === 200 ? parseForm(text) : undefined;
  if (!form?.action) {
    console.error(`login: no form on the provider page ${url} (${res.status}):\n${text.slice(0, 2000)}`);
    process.exit(1);
  }
  const fields = new URLSearchParams(form.hidden);
  if (form.inputs.includes('login')) {
    fields.append('login', LOGIN);
    fields.append('password', 'any password');
  }
  url = new URL(form.action, url);
  res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
  });
}
console.error('login: too many steps');
process.exit(1);
