/**
 * `npm run token -- USER [--ttl 1h]`: mints a KubeSphere-style access token (HS256 with JWT_SECRET from the
 * environment), for trying a local gateway: `curl -H "Authorization: Bearer $(npm run -s token -- demo)" …`.
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { ttl: { type: 'string', default: '1h' }, issuer: { type: 'string' } } });
const user = positionals[0];
const secret = process.env.JWT_SECRET;
// jose reads "1h", "30m", "2 days"…; anything else is a usage error, not a stack trace.
if (!user || !secret || !/^\d+\s*[a-z]+$/i.test(values.ttl!)) {
  console.error('usage: JWT_SECRET=… npm run -s token -- USER [--ttl 1h] [--issuer URL]');
  process.exit(2);
}
const jwt = new SignJWT({ username: user, token_type: 'access_token' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(values.ttl!);
if (values.issuer ?? process.env.JWT_ISSUER) jwt.setIssuer((values.issuer ?? process.env.JWT_ISSUER)!);
console.log(await jwt.sign(new TextEncoder().encode(secret)));
