/** Runs wrk and reads its summary: requests/s and the latency distribution (`--latency`). */
import { execFile } from 'node:child_process';
import { LOAD_CPU, pinned } from './load-targets';

export interface WrkResult { rps: number; p50_ms: number; p99_ms: number; requests: number; errors: number }

const ms = (value: string, unit: string) => Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit]!;

export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const pct = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? ms(m[1]!, m[2]!) : NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socket ? socket.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk's output:\n${out}`);
  return { rps, p50_ms: pct('50'), p99_ms: pct('99'), requests, errors };
}

export function wrk(url: string, o: { seconds: number; connections: number; headers?: Record<string, string> }): Promise<WrkResult> {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const [cmd, argv] = pinned(LOAD_CPU, 'wrk', args);
  return new Promise((resolve, reject) => execFile(cmd, argv, (err, stdout) => (err ? reject(err) : resolve(parseWrk(stdout)))));
}
