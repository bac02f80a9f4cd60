/** KubeSphere-style JWTs minted with a real JOSE library. */
import { SignJWT, generateKeyPair, exportJWK, type JWK } from 'jose';

export const JWT_SECRET = 'test-jwt-secret-of-reasonable-length';

/** `expiresIn: null` mints a token without `exp`. */
export async function hs256(claims: Record<string, unknown>, opts: { secret?: string; expiresIn?: string | number | null; notBefore?: string | number } = {}) {
  const jwt = new SignJWT({ token_type: 'access_token', ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  if (opts.expiresIn === undefined) jwt.setExpirationTime('1h');
  else if (opts.expiresIn !== null) jwt.setExpirationTime(opts.expiresIn);
  if (opts.notBefore !== undefined) jwt.setNotBefore(opts.notBefore);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? JWT_SECRET));
}

export async function keyPair(alg: 'RS256' | 'ES256', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ token_type: 'access_token', ...claims }).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  return { jwk, sign };
}

/** A token with `alg: none`, which no verifier may accept. */
export function unsigned(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}.`;
}
