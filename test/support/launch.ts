/** Runs an npm script as a user would (its own process group), waits for the gateway's healthz, stops it after. */
import { spawn } from 'node:child_process';
import { freePort } from './workerd';

export interface Launched { base: string; output(): string; stop(): Promise<void> }

export async function launch(args: string[], env: Record<string, string>): Promise<Launched> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn('npm', args, { env: { ...process.env, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const stop = async () => {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
  };
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${base}/_gateway/healthz`)).status === 200) return { base, output: () => output, stop };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`npm ${args.join(' ')} did not come up:\n${output}`);
}
