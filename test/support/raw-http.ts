/** One HTTP/1.1 request written byte for byte over a socket (fetch would normalise the method and the target). */
import { connect } from 'node:net';

export interface RawResponse { status: number; headers: Record<string, string>; body: string }

export function rawRequest(origin: string, method: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let buffer = Buffer.alloc(0);
    let done = false;
    const finish = (r: RawResponse) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(r);
    };
    // The runtime may keep the connection open after the response: parse it and stop when it is complete.
    const tryParse = (ended: boolean) => {
      const split = buffer.indexOf('\r\n\r\n');
      if (split < 0) {
        if (ended) finish({ status: 0, headers: {}, body: buffer.toString() });
        return;
      }
      const head = buffer.subarray(0, split).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const hs: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) hs[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const rest = buffer.subarray(split + 4);
      if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) return finish({ status, headers: hs, body: '' });
      if (hs['content-length'] !== undefined) {
        const n = Number(hs['content-length']);
        if (rest.length >= n) finish({ status, headers: hs, body: rest.subarray(0, n).toString('utf8') });
        else if (ended) finish({ status, headers: hs, body: rest.toString('utf8') });
        return;
      }
      if (hs['transfer-encoding'] === 'chunked') {
        const body = dechunk(rest);
        if (body !== undefined || ended) finish({ status, headers: hs, body: body ?? rest.toString('utf8') });
        return;
      }
      if (ended) finish({ status, headers: hs, body: rest.toString('utf8') });
    };
    socket.on('data', (c: Buffer) => {
      buffer = Buffer.concat([buffer, c]);
      tryParse(false);
    });
    socket.on('error', (e) => (done ? undefined : reject(e)));
    socket.on('end', () => tryParse(true));
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}

/** The body of a complete chunked encoding, or undefined while the last chunk has not arrived. */
function dechunk(s: Buffer): string | undefined {
  const parts: Buffer[] = [];
  for (let i = 0; ;) {
    const eol = s.indexOf('\r\n', i);
    if (eol < 0) return undefined;
    const size = parseInt(s.subarray(i, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(parts).toString('utf8');
    if (s.length < eol + 2 + size + 2) return undefined;
    parts.push(s.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}
