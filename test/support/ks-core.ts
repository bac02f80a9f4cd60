/**
 * A stand-in for ks-apiserver's `GET /oauth/userinfo` on 127.0.0.1 (ks-apiserver cannot run here), answering as
 * KubeSphere's handler chain writes it (kubesphere/kubesphere@04a29b5c6):
 *
 * - no Authorization: the anonymous authenticator (`pkg/apiserver/authentication/request/anonymous`) passes, and
 *   `userinfo` (`pkg/kapis/oauth/handler.go`) writes 401 with the JSON string `"login_required"`
 *   (`WriteHeaderAndEntity(401, oauth.LoginRequired)`, go-restful's pretty JSON, `Content-Type: application/json`);
 * - a token that fails: the authentication filter (`pkg/apiserver/filters/authentication.go`) writes 401, a
 *   Kubernetes Status with `apierrors.NewUnauthorized(err.Error())` (`responsewriters.ErrorNegotiated`, compact
 *   JSON and a newline, `Content-Type: application/json`). The errors, in the order the JWT authenticator
 *   (`authenticators/jwt/jwt.go`) meets them: the issuer's `Verify` (`jwt: token is expired by …`), the token cache
 *   (`pkg/models/auth/token.go`: `token not found in cache`), then on the host the User (`users.iam.kubesphere.io
 *   "bob" not found`, `account is not active`);
 * - a token that passes: `userinfo` writes 200 with `token.Claims` (`sub`, `url` (sic: the Name field's JSON tag),
 *   `email`, `preferred_username`) in go-restful's pretty JSON; for a caller it cannot describe (a service account),
 *   500 with OAuth's `{"error": "server_error", …}`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { JWT_SECRET } from './tokens';

export interface KsCore {
  origin: string;
  /** KubeSphere's token cache: tokens it issued and has not revoked. */
  issued: Set<string>;
  /** Users and their `status.state`. */
  users: Map<string, 'Active' | 'Disabled'>;
  /** Every review asked, with its headers. */
  seen: IncomingHttpHeaders[];
  /** `hang`: never answer; `delay`: answer after `delayMs`; `liar`: a 200 naming another user; `down`: 503. */
  mode: 'normal' | 'hang' | 'delay' | 'liar' | 'down';
  delayMs: number;
  close(): Promise<void>;
}

const goPretty = (v: unknown) => JSON.stringify(v, null, 1);
const status401 = (message: string) => `${JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Unauthorized', code: 401 })}\n`;
const SERVICE_ACCOUNT = 'kubesphere:serviceaccount:';

export async function startKsCore(): Promise<KsCore> {
  const core: KsCore = {
    origin: '', issued: new Set(), users: new Map([['alice', 'Active'], ['bob', 'Active']]), seen: [], mode: 'normal', delayMs: 0,
    close: async () => {},
  };
  const answer = async (authorization: string | undefined): Promise<[number, string]> => {
    const header = (authorization ?? '').trim();
    if (header === '') return [401, goPretty('login_required')];
    const m = /^bearer\s+(\S+)$/i.exec(header);
    if (!m) return [401, status401('The request cannot be authenticated.')];
    const token = m[1]!;
    let name: string;
    try {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(JWT_SECRET), { algorithms: ['HS256'] });
      name = String(payload['username'] ?? '');
    } catch (e) {
      const code = (e as { code?: string }).code;
      return [401, status401(code === 'ERR_JWT_EXPIRED' ? 'jwt: token is expired by 1s' : 'token signature is invalid: signature is invalid')];
    }
    if (!core.issued.has(token)) return [401, status401('token not found in cache')];
    if (core.mode === 'liar') return [200, goPretty({ sub: 'someone-else', url: 'someone-else', preferred_username: 'someone-else' })];
    if (!name.startsWith(SERVICE_ACCOUNT)) {
      const state = core.users.get(name);
      if (state === undefined) return [401, status401(`users.iam.kubesphere.io ${JSON.stringify(name)} not found`)];
      if (state === 'Disabled') return [401, status401('account is not active')];
      return [200, goPretty({ sub: name, url: name, email: `${name}@example.test`, preferred_username: name })];
    }
    return [500, goPretty({ error: 'server_error', error_description: 'An internal server error occurred while processing the request.' })];
  };
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/oauth/userinfo') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    core.seen.push(req.headers);
    if (core.mode === 'hang') return; // never answers; the connection stays open
    if (core.mode === 'down') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream connect error');
      return;
    }
    const wait = core.mode === 'delay' ? core.delayMs : 0;
    void answer(req.headers.authorization).then(([code, body]) => setTimeout(() => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(body);
    }, wait));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  core.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  core.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return core;
}

/**
 * For tests whose CORE_ORIGIN is an echo upstream (test/support/upstream.ts): `/oauth/userinfo` answering as
 * ks-apiserver does for a token it still stands behind (200, `sub` = the token's `username`).
 */
export const standingUserinfo = (req: IncomingMessage, res: ServerResponse) => {
  const token = (req.headers.authorization ?? '').replace(/^bearer\s+/i, '');
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString() || '{}') as { username?: string };
  res.writeHead(200, { 'content-type': 'application/json' }).end(goPretty({ sub: claims.username, url: claims.username, preferred_username: claims.username }));
};
