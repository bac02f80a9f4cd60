/**
 * The exporter CLI.
 *
 *   npm run export -- --from kube|dir:FOLDER --to cloudflare|local|dry-run|files:DIR
 *                     [--kubeconfig FILE] [--context NAME] [--cluster-name NAME] [--watch] [--output json] [--strict]
 *   npm run export -- rollback [--to HASH] [--cluster-name NAME] [--target cloudflare|local|files:DIR]
 *
 * Exit codes: 0 published (or unchanged); 1 failed, nothing changed; 2 usage error; 3 published, but --strict and
 * some resource has problems.
 */
import { parseArgs } from 'node:util';
import { kubeConfig } from './exporter/kube-client';
import { formatDryRun, formatSummary } from './exporter/report';
import { rollback } from './exporter/rollback';
import { ExportError, runExport, type ExportSummary } from './exporter/run';
import { directorySource } from './exporter/sources/directory';
import { kubeSource } from './exporter/sources/kube';
import type { Source } from './exporter/sources/source';
import { cloudflareConfigFromEnv, cloudflareTarget } from './exporter/targets/cloudflare';
import { dryRunTarget, type DryRunTarget } from './exporter/targets/dry-run';
import { filesTarget } from './exporter/targets/files';
import type { KvTarget } from './exporter/targets/kv-target';
import { parseDuration } from '../worker/model/annotations';
import { DEFAULT_CLUSTER } from '../worker/model/snapshot';
import { redactCredentials } from '../worker/redact';

class UsageError extends Error {}

const USAGE = `usage: export --from kube|dir:FOLDER --to cloudflare|local|dry-run|files:DIR [--kubeconfig FILE] [--context NAME]
              [--cluster-name NAME] [--watch] [--resync 5m] [--output json] [--strict]
       export rollback [--to HASH] [--cluster-name NAME] [--target cloudflare|local|files:DIR]`;

function args() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        from: { type: 'string' }, to: { type: 'string' }, target: { type: 'string' },
        kubeconfig: { type: 'string' }, context: { type: 'string' }, 'cluster-name': { type: 'string' },
        watch: { type: 'boolean' }, resync: { type: 'string' }, output: { type: 'string' }, strict: { type: 'boolean' },
        'persist-to': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function openTarget(name: string, persistTo: string | undefined): Promise<KvTarget> {
  if (name.startsWith('files:')) return filesTarget(name.slice('files:'.length));
  switch (name) {
    case 'cloudflare': return cloudflareTarget(cloudflareConfigFromEnv(process.env));
    // Loaded on demand: Miniflare is a development dependency, absent from the in-cluster exporter.
    case 'local': return (await import('./exporter/targets/local')).localTarget({ persistRoot: persistTo });
    case 'dry-run': return dryRunTarget(process.env.CLOUDFLARE_API_TOKEN ? await openTarget('cloudflare', persistTo) : await openTarget('local', persistTo));
    default: throw new UsageError(`--to must be cloudflare, local, dry-run or files:DIR, got ${JSON.stringify(name)}`);
  }
}

function openSource(from: string, o: { kubeconfig?: string; context?: string }): Source {
  if (from.startsWith('dir:')) return directorySource(from.slice(4));
  if (from === 'kube') return kubeSource(kubeConfig(o));
  throw new UsageError(`--from must be kube or dir:FOLDER, got ${JSON.stringify(from)}`);
}

async function main(): Promise<number> {
  const { values, positionals } = args();
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const json = values.output === 'json';
  if (values.output !== undefined && !json) throw new UsageError('--output takes only "json"');
  const persistTo = values['persist-to'] ?? process.env.KS_EDGE_PERSIST_TO;

  if (positionals[0] === 'rollback') {
    const target = await openTarget(values.target ?? (process.env.CLOUDFLARE_API_TOKEN ? 'cloudflare' : 'local'), persistTo);
    try {
      const cluster = values['cluster-name'] ?? process.env.CLUSTER_NAME ?? DEFAULT_CLUSTER;
      const moved = await rollback(target, values.to, cluster);
      console.log(json ? JSON.stringify(moved) : `rolled back ${cluster}: ${moved.snapshot} (was ${moved.from})`);
    } finally {
      await target.close();
    }
    return 0;
  }
  if (positionals.length) throw new UsageError(`unknown command ${positionals[0]}`);
  if (!values.from || !values.to) throw new UsageError('--from and --to are required');
  const source = openSource(values.from, { kubeconfig: values.kubeconfig, context: values.context });
  const target = await openTarget(values.to, persistTo);
  const cluster = values['cluster-name'] ?? process.env.CLUSTER_NAME ?? DEFAULT_CLUSTER;
  const clusterOrigin = process.env.CLUSTER_ORIGIN || undefined;
  const print = (summary: ExportSummary) => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K'); // the progress line gives way to the report
    const planned = (target as Partial<DryRunTarget>).planned;
    if (json) console.log(JSON.stringify({ ...summary, maxRssBytes: process.resourceUsage().maxRSS * 1024, ...(planned ? { planned } : {}) }));
    else {
      console.log(formatSummary(summary, source.description, target.description));
      if (planned) console.log(formatDryRun(summary, planned));
    }
  };
  try {
    if (values.watch) {
      if (values.from !== 'kube') throw new UsageError('--watch needs --from kube');
      const { watchAndExport } = await import('./exporter/watch');
      const stop = new AbortController();
      process.once('SIGTERM', () => stop.abort());
      process.once('SIGINT', () => stop.abort());
      const resyncMs = parseDuration(values.resync ?? '5m');
      if (!resyncMs) throw new UsageError('--resync takes a duration such as 5m');
      await watchAndExport({
        kc: kubeConfig({ kubeconfig: values.kubeconfig, context: values.context }),
        signal: stop.signal,
        resyncMs,
        log: (line) => console.error(redactCredentials(`[watch] ${line}`)),
        exportOnce: async () => {
          const summary = await runExport({ source, target, cluster, clusterOrigin });
          print(summary);
          return { resyncMs: summary.probeIntervalMs };
        },
      });
      return 0;
    }
    const summary = await runExport({ source, target, cluster, clusterOrigin, progress: json ? undefined : terminalProgress() });
    print(summary);
    return values.strict && summary.counts.withProblems ? 3 : 0;
  } finally {
    await target.close();
  }
}

/**
 * A progress line on a terminal only (never in a CronJob's log): rewritten in place on stderr, cleared at the end.
 * Uses nothing but the terminal's own carriage return and erase-line.
 */
function terminalProgress(): ((line: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const started = Date.now();
  process.once('beforeExit', () => process.stderr.write('\r\x1b[K'));
  return (line) => process.stderr.write(`\r\x1b[K${((Date.now() - started) / 1000).toFixed(1)}s ${line}`.slice(0, process.stderr.columns || 120));
}

/** Exits once stdout has drained: process.exit() right after a large write to a pipe would cut it off. */
const exit = (code: number) => process.stdout.write('', () => process.exit(code));

main().then(exit, (e: unknown) => {
  if (e instanceof UsageError) {
    console.error(`usage error: ${e.message}\n${USAGE}`);
    return exit(2);
  }
  const known = e instanceof ExportError || (e as Error).constructor?.name?.endsWith('Error');
  console.error(redactCredentials(`export failed, nothing changed: ${known ? (e as Error).message : (e as Error).stack ?? e}`));
  exit(1);
});
