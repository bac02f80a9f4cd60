/**
 * What `npm test` needs of the machine besides npm packages: Debian's Chromium (the browser tests, driven by
 * playwright-core, which downloads no browser), curl and openssl (the test Kubernetes API server's start-up; it
 * builds itself, test/kube-server/ensure.sh). As root with apt, `npm test` installs what is missing; otherwise it
 * says which command to run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** The Debian packages the machine lacks. */
function needed(chromium: string): string[] {
  return [
    ...(existsSync(chromium) ? [] : ['chromium']),
    ...(onPath('curl') ? [] : ['curl']),
    ...(onPath('openssl') ? [] : ['openssl']),
    ...(existsSync('/etc/ssl/certs/ca-certificates.crt') ? [] : ['ca-certificates']),
  ];
}

export interface Machine { chromium: string; root: boolean; apt: boolean }

const thisMachine = (): Machine => ({
  chromium: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', root: process.getuid?.() === 0, apt: onPath('apt-get'),
});

/** Installs what is missing when it can; returns the one line to print when it cannot, else undefined. */
export function prerequisites(machine: Machine = thisMachine()): string | undefined {
  let missing = needed(machine.chromium);
  if (missing.length === 0) return undefined;
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (!machine.root || !machine.apt) {
    return `npm test needs ${missing.join(', ')}: run \`sudo ${command}\` (or set CHROMIUM_PATH to a Chromium), then npm test again`;
  }
  console.log(`npm test: installing ${missing.join(', ')} from Debian (${command})`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  } catch (e) {
    return `npm test could not install ${missing.join(', ')} (${(e as Error).message.split('\n')[0]}): run \`${command}\` by hand`;
  }
  missing = needed(machine.chromium);
  return missing.length ? `npm test installed packages but still lacks ${missing.join(', ')}: run \`${command}\` by hand` : undefined;
}
