/**
 * The exporter's report: a table of resources by kind and state, keys written and unchanged, a dry run's diff
 * against what KV holds, and a progress line on a terminal only — never in a CronJob's log.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDryRun, formatSummary } from '../../scripts/exporter/report';
import { rollback } from '../../scripts/exporter/rollback';
import { runExport } from '../../scripts/exporter/run';
import { directorySource } from '../../scripts/exporter/sources/directory';
import { dryRunTarget } from '../../scripts/exporter/targets/dry-run';
import { filesTarget } from '../../scripts/exporter/targets/files';
import { apiService, reverseProxy } from '../support/gateway';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-edge-report-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const manifests = (extra = '') => [
  apiService('api', { group: 'g.io', version: 'v1', url: 'https://api.example.com' }),
  reverseProxy('ok', { matcher: { path: '/proxy/ok/*' }, upstream: { url: 'https://up.example.com' } }),
  reverseProxy('off', { matcher: { path: '/proxy/off/*' }, upstream: { url: 'https://up.example.com' } }, {}, 'Disabled'),
  reverseProxy('bad', { matcher: { path: '/login' }, upstream: { url: 'https://up.example.com' } }),
].join('') + extra;

async function exportTo(kv: string, yaml: string, dry = false) {
  await writeFile(join(dir, 'm.yaml'), yaml);
  const files = filesTarget(kv);
  const target = dry ? dryRunTarget(files) : files;
  const summary = await runExport({ source: directorySource(dir), target, cluster: 'host', clusterOrigin: undefined });
  return { summary, planned: dry ? (target as ReturnType<typeof dryRunTarget>).planned : undefined };
}

describe('the report', () => {
  it('tables resources by kind and state, with the rejected ones, and says what was written and left unchanged', async () => {
    const kv = join(dir, 'kv');
    const { summary } = await exportTo(kv, manifests());
    const text = formatSummary(summary, 'dir:x', 'files:y');
    expect(text).toMatch(/^kind\s+Available\s+Disabled\s+rejected$/m);
    expect(text).toMatch(/^APIService\s+1\s+0\s+0$/m);
    expect(text).toMatch(/^ReverseProxy\s+2\s+1\s+1$/m);
    expect(text).toContain('✗ ReverseProxy bad [Available]: matcher path "/login" claims /login');
    expect(text).toMatch(/keys: wrote 3 \(.+\), unchanged 0, deleted 0/);
    const again = await exportTo(kv, manifests());
    expect(formatSummary(again.summary, 'dir:x', 'files:y')).toMatch(/keys: wrote 0 \(0\.0 KiB\), unchanged 3, deleted 0/);
  });

  it('a dry run prints the diff against what KV holds, resource by resource', async () => {
    const kv = join(dir, 'kv');
    await exportTo(kv, manifests());
    const changed = manifests().replace('https://api.example.com', 'https://api2.example.com')
      + reverseProxy('new', { matcher: { path: '/proxy/new/*' }, upstream: { url: 'https://up.example.com' } });
    const { summary, planned } = await exportTo(kv, changed.replace(/---\n[^\n]*"name":"off"[^\n]*\n/, ''), true);
    const text = formatDryRun(summary, planned!);
    expect(text).toContain('+ ReverseProxy/new');
    expect(text).toContain('- ReverseProxy/off');
    expect(text).toContain('~ APIService/api');
    expect(text).not.toContain('~ ReverseProxy/ok');
    expect(text).toMatch(/would write 3 \(snapshot-body\/[0-9a-f]{64}, snapshot\/[0-9a-f]{64}, pointer\/host\)/);
  });

  it('a dry run shows a change of roles or bindings alone, which no resource report carries', async () => {
    const kv = join(dir, 'kv');
    const role = (verb: string) => `---\n${JSON.stringify({ apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'GlobalRole', metadata: { name: 'r' }, rules: [{ nonResourceURLs: ['/proxy/*'], verbs: [verb] }] })}\n`;
    await exportTo(kv, manifests() + role('GET'));
    const { summary, planned } = await exportTo(kv, manifests() + role('POST'), true);
    expect(formatDryRun(summary, planned!)).toContain('~ authorization data');
  });
});

describe('rollback', () => {
  it('names the cluster it found nothing for, and refuses a name that is not a DNS label', async () => {
    const target = filesTarget(join(dir, 'kv'));
    await expect(rollback(target, undefined, 'member9')).rejects.toThrow('no pointer for cluster "member9"');
    await expect(rollback(target, undefined, 'Member_9')).rejects.toThrow('must be a DNS label');
  });
});

describe('progress', () => {
  const cli = (args: string[]) => ['npx', 'tsx', 'scripts/export.ts', ...args];
  it('is never printed when stderr is not a terminal (a CronJob\'s log)', async () => {
    await writeFile(join(dir, 'm.yaml'), manifests());
    const [cmd, ...args] = cli(['--from', `dir:${dir}`, '--to', `files:${join(dir, 'kv')}`]);
    const run = spawnSync(cmd!, args, { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toContain('\r');
    expect(run.stdout).toContain('summary:');
  });
  it('is shown on a terminal, then gives way to the report', async () => {
    await writeFile(join(dir, 'm.yaml'), manifests());
    const command = cli(['--from', `dir:${dir}`, '--to', `files:${join(dir, 'kv')}`]).join(' ');
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/\r\x1b\[K[\d.]+s reading dir:/);
    expect(run.stdout).toMatch(/\r\x1b\[K[\d.]+s publishing to/);
    expect(run.stdout).toContain('summary:');
  });
});
