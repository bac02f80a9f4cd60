/** SPEC §4 with tokens minted by a real JOSE library and a JWKS served by a real local HTTP server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { apiService, jsBundle, reverseProxy, startGateway, type Gateway } from '../support/gateway';
import { startUpstream, type Upstream } from '../support/upstream';
import { rawRequest } from '../support/raw-http';
import { hs256, JWT_SECRET, keyPair, unsigned } from '../support/tokens';

const ISSUER = 'https://console.example.test';
const OURS = { iss: ISSUER, aud: 'ks-console' };

let up: Upstream;
let gw: Gateway;
const manifests = (origin: string) => [
  apiService('api', { group: 'g.io', version: 'v1', url: origin }),
  reverseProxy('private', { matcher: { path: '/proxy/private' }, upstream: { url: origin }, directives: { authProxy: true } }),
  reverseProxy('public', { matcher: { path: '/proxy/public' }, upstream: { url: origin }, directives: { authProxy: true } }, { annotations: { 'ks-edge.io/allow-anonymous': 'true' } }),
  jsBundle('b', { raw: Buffer.from('b();').toString('base64') }, { labels: { 'kubesphere.io/extension-ref': 'b' } }),
].join('');

beforeAll(async () => {
  up = await startUpstream();
  // Authentication alone: KubeSphere's authorization is tested in authz.test.ts.
  gw = await startGateway({ manifests: manifests(up.origin), vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none' } });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const last = () => up.seen[up.seen.length - 1]!;
const status = async (res: Response) => ({ code: res.status, body: (await res.json()) as { kind: string; reason: string; message: string } });

describe('where the token comes from', () => {
  it.each([
    ['Authorization', (t: string) => ({ Authorization: `Bearer ${t}` })],
    ['X-KubeSphere-Authorization', (t: string) => ({ 'X-KubeSphere-Authorization': `Bearer ${t}` })],
    ['the token cookie', (t: string) => ({ Cookie: `lang=en; token=${t}` })],
  ])('%s', async (_n, headers) => {
    const t = await hs256({ username: 'alice' });
    const res = await gw.fetch('/kapis/g.io/v1/x', { headers: headers(t) });
    expect(res.status).toBe(200);
    expect(last().headers['x-remote-user']).toBe('alice');
    expect(last().headers['x-remote-group']).toBe('system:authenticated');
  });

  it('the session cookie is never forwarded; other cookies are', async () => {
    const t = await hs256({ username: 'alice' });
    await gw.fetch('/kapis/g.io/v1/x', { headers: { Cookie: `lang=en; token=${t}; theme=dark` } });
    expect(last().headers.cookie).toBe('lang=en; theme=dark');
  });

  it('the user is `username`, else `sub`', async () => {
    await gw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await hs256({ sub: 'bob' })}` } });
    expect(last().headers['x-remote-user']).toBe('bob');
  });
});

describe('invalid tokens are 401 everywhere, as a Kubernetes Status', () => {
  it.each([
    ['expired', () => hs256({ username: 'a' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), 'expired'],
    ['not yet valid', () => hs256({ username: 'a' }, { notBefore: Math.floor(Date.now() / 1000) + 3600 }), 'nbf'],
    ['wrong key', () => hs256({ username: 'a' }, { secret: 'another-secret-entirely' }), 'signature'],
    ['refresh token', () => hs256({ username: 'a', token_type: 'refresh_token' }), 'not an access token'],
    ['alg none', async () => unsigned({ username: 'a' }), 'algorithm "none"'],
    ['wrong algorithm (RS256 without JWKS_URL)', async () => (await keyPair('RS256', 'k')).sign({ username: 'a' }), 'algorithm "RS256"'],
    ['no user', () => hs256({}), 'names no user'],
    ['garbage', async () => 'not.a.jwt', 'malformed'],
  ])('%s', async (_n, mint, why) => {
    const t = await mint();
    for (const path of ['/kapis/g.io/v1/x', '/proxy/public', '/dist/b/index.js', '/elsewhere']) {
      const { code, body } = await status(await gw.fetch(path, { headers: { Authorization: `Bearer ${t}` } }));
      expect(code, path).toBe(401);
      expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
      expect(body.message).toContain(why);
    }
  });
});

describe('anonymous callers', () => {
  it('are refused by APIService and ReverseProxy routes', async () => {
    for (const path of ['/kapis/g.io/v1/x', '/proxy/private']) {
      const { code, body } = await status(await gw.fetch(path));
      expect(code).toBe(401);
      expect(body.reason).toBe('Unauthorized');
    }
  });
  it('pass where the route allows them, as system:anonymous', async () => {
    expect((await gw.fetch('/proxy/public', { headers: { 'X-Remote-User': 'admin' } })).status).toBe(200);
    expect(last().headers['x-remote-user']).toBe('system:anonymous');
    expect(last().headers['x-remote-group']).toBe('system:unauthenticated');
  });
  it('get JSBundles, which are public', async () => expect((await gw.fetch('/dist/b/index.js')).status).toBe(200));
});

describe('configuration', () => {
  it('fails closed with 500 when no key is set and AUTH=none is not said', async () => {
    const bare = await startGateway({ manifests: manifests(up.origin), vars: { AUTH: '' } });
    try {
      const { code, body } = await status(await bare.fetch('/dist/b/index.js'));
      expect(code).toBe(500);
      expect(body.message).toContain('AUTH=none');
    } finally {
      await bare.close();
    }
  });

  it('AUTH=none is said on the status page and admits anonymous users', async () => {
    const open = await startGateway({ manifests: manifests(up.origin), vars: { AUTH: 'none' } });
    try {
      const s = (await (await open.fetch('/_gateway/status')).json()) as { auth: { mode: string; warning: string } };
      expect(s.auth.mode).toBe('off');
      expect(s.auth.warning).toContain('OFF');
      expect((await open.fetch('/kapis/g.io/v1/x')).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('the status page needs an authenticated user when authentication is on', async () => {
    expect((await gw.fetch('/_gateway/status')).status).toBe(401);
    const ok = await gw.fetch('/_gateway/status', { headers: { Authorization: `Bearer ${await hs256({ username: 'ops' })}` } });
    expect(ok.status).toBe(200);
  });
});

describe('JWKS (RS256/ES256)', () => {
  let jwksServer: Server;
  let keys: JWK[] = [];
  let jwksGw: Gateway;

  beforeAll(async () => {
    jwksServer = createServer((_q, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ keys })); });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    jwksGw = await startGateway({ manifests: manifests(up.origin), vars: { JWKS_URL: jwksUrl, JWKS_CACHE_SECONDS: '600', AUTH: '', AUTHZ: 'none', JWT_ISSUER: ISSUER, JWT_AUDIENCE: 'ks-console' } });
  });
  afterAll(async () => {
    await jwksGw?.close();
    jwksServer?.closeAllConnections();
    await new Promise((r) => jwksServer?.close(r));
  });

  it('verifies RS256 and ES256 and picks up a rotated key', async () => {
    const rsa = await keyPair('RS256', 'rsa-1');
    const ec = await keyPair('ES256', 'ec-1');
    keys = [rsa.jwk, ec.jwk];
    for (const signer of [rsa, ec]) {
      const res = await jwksGw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await signer.sign({ username: 'carol', ...OURS })}` } });
      expect(res.status).toBe(200);
      expect(last().headers['x-remote-user']).toBe('carol');
    }
    const rotated = await keyPair('RS256', 'rsa-2');
    keys = [rotated.jwk];
    // Keys are cached for 600 s, but an unknown kid refetches once the 1 s cooldown has passed.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await jwksGw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await rotated.sign({ username: 'dave', ...OURS })}` } });
    expect(fresh.status).toBe(200);
    expect(last().headers['x-remote-user']).toBe('dave');
    const retired = await jwksGw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await rsa.sign({ username: 'carol', ...OURS })}` } });
    expect(retired.status).toBe(401);
    expect((await jwksGw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await hs256({ username: 'x' })}` } })).status).toBe(401);
  });

  it('refuses a token of another application of the same identity provider (iss, aud)', async () => {
    const key = await keyPair('RS256', 'rsa-3');
    keys = [key.jwk];
    await new Promise((r) => setTimeout(r, 1100));
    const call = async (claims: Record<string, unknown>) =>
      jwksGw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await key.sign({ username: 'admin', ...claims })}` } });
    expect((await call(OURS)).status).toBe(200);
    for (const claims of [{ iss: 'https://other.example', aud: 'ks-console' }, { iss: ISSUER, aud: 'grafana' }, { aud: 'ks-console' }, { iss: ISSUER }]) {
      const res = await call(claims);
      expect(res.status, JSON.stringify(claims)).toBe(401);
      expect(((await res.json()) as { message: string }).message).toMatch(/iss|aud/);
    }
  });
});

describe('token checks as strict as KubeSphere', () => {
  it('a verified token is not remembered past its exp', async () => {
    const t = await hs256({ username: 'alice' }, { expiresIn: Math.floor(Date.now() / 1000) + 2 });
    expect((await gw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${t}` } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await gw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${t}` } })).status).toBe(401);
  });

  it('a token without exp is refused', async () => {
    const res = await gw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await hs256({ username: 'a' }, { expiresIn: null })}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toContain('exp');
  });

  it('a malformed Authorization header is a 401 and never falls back to the cookie', async () => {
    const good = await hs256({ username: 'alice' });
    const before = up.seen.length;
    for (const authorization of [`Bearer not-a-jwt x`, `Basic YWxpY2U6cHc=`, `Bearer`, `Bearer ${good}, Bearer ${good}`]) {
      const res = await gw.fetch('/proxy/public', { headers: { Authorization: authorization, Cookie: `token=${good}` } });
      expect(res.status, authorization).toBe(401);
    }
    expect(up.seen.length).toBe(before);
  });

  it('the Bearer scheme is read case-insensitively, as Kubernetes reads it', async () => {
    const token = await hs256({ username: 'alice' });
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await gw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `${scheme} ${token}` } });
      expect(res.status, scheme).not.toBe(401);
      expect(up.seen.at(-1)!.headers['x-remote-user'], scheme).toBe('alice');
    }
  });

  it('a user name no header can carry is a 401, not a 500', async () => {
    const res = await gw.fetch('/kapis/g.io/v1/x', { headers: { Authorization: `Bearer ${await hs256({ username: '李雷' })}` } });
    expect(res.status).toBe(401);
  });

  it('two Authorization headers are a 401, not an anonymous caller', async () => {
    const good = await hs256({ username: 'alice' });
    const res = await rawRequest(gw.url, 'GET', '/proxy/public', { Authorization: `Bearer ${good}`, authorization: `Bearer ${good}` });
    expect(res.status).toBe(401);
  });

  it.each([
    ['a blank JWT_SECRET', { JWT_SECRET: ' ' }, 'JWT_SECRET must be at least 32 bytes'],
    ['a short JWT_SECRET', { JWT_SECRET: 'short-secret' }, 'JWT_SECRET must be at least 32 bytes'],
    ['JWKS_URL without JWT_ISSUER', { JWKS_URL: 'http://127.0.0.1:9/jwks' }, 'JWT_ISSUER'],
  ])('%s fails closed with 500 naming the setting', async (_n, keys, why) => {
    const weak = await startGateway({ manifests: manifests(up.origin), vars: { ...keys, AUTH: '' } });
    try {
      const res = await weak.fetch('/dist/b/index.js');
      expect(res.status).toBe(500);
      expect(((await res.json()) as { message: string }).message).toContain(why);
    } finally {
      await weak.close();
    }
  });
});
