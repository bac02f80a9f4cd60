/**
 * KubeSphere's code decodes `spec.raw` and `caBundle` once more after the API server's own base64, so manifests
 * written for it carry base64 twice. Both are accepted: after one decode, a result that is itself well-formed
 * base64 (which JavaScript, CSS and PEM text never are) is decoded again.
 */
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function isBase64(text: string): boolean {
  const t = text.replace(/\s+/g, '');
  return t.length > 0 && t.length % 4 === 0 && B64.test(t);
}

export function decodeBase64(text: string, field: string): Buffer {
  const t = text.replace(/\s+/g, '');
  if (!isBase64(t)) throw new Error(`${field} is not valid base64`);
  return Buffer.from(t, 'base64');
}

export function decodeOnceOrTwice(text: string, field: string): Buffer {
  const once = decodeBase64(text, field);
  const inner = once.toString('latin1');
  return isBase64(inner) ? Buffer.from(inner.replace(/\s+/g, ''), 'base64') : once;
}
