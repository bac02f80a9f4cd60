/**
 * The exporter CLI.
 *
 *   npm run export -- --from dir:FOLDER|kube --to local|dry-run|cloudflare [--cluster-name NAME] [--output json] [--strict]
 *   npm run export -- rollback [--to HASH] [--target local|cloudflare]
 *
 * Exit codes: 0 published (or unchanged); 1 failed, nothing changed; 2 usage error; 3 published, but --strict and
 * some resource has problems.
 */
import { parseArgs } from 'node:util';
import { formatSummary } from './exporter/report';
import { ExportError, runExport } from './exporter/run';
import { rollback } from './exporter/rollback';
import { directorySource } from './exporter/sources/directory';
import type { Source } from './exporter/sources/source';
import { dryRunTarget } from './exporter/targets/dry-run';
import type { KvTarget } from './exporter/targets/kv-target';
import { localTarget } from './exporter/targets/local';

class UsageError extends Error {}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        target: { type: 'string' },
        'cluster-name': { type: 'string' },
        output: { type: 'string' },
        strict: { type: 'boolean' },
        'persist-to': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`usage error: ${(e as Error).message}`);
    process.exit(2);
  }
})();

async function openTarget(name: string): Promise<KvTarget> {
  const persistRoot = values['persist-to'] ?? process.env.KS_EDGE_PERSIST_TO;
  switch (name) {
    case 'local': return localTarget({ persistRoot });
    case 'dry-run': return dryRunTarget(await localTarget({ persistRoot }));
    default: throw new UsageError(`--to must be local or dry-run, got ${JSON.stringify(name)}`);
  }
}

function openSource(from: string): Source {
  if (from.startsWith('dir:')) return directorySource(from.slice(4));
  throw new UsageError(`--from must be dir:FOLDER, got ${JSON.stringify(from)}`);
}

async function main(): Promise<number> {
  if (values.help) {
    console.log('usage: export --from dir:FOLDER --to local|dry-run [--cluster-name NAME] [--output json] [--strict]\n       export rollback [--to HASH] [--target local]');
    return 0;
  }
  const json = values.output === 'json';
  if (values.output !== undefined && !json) throw new UsageError('--output takes only "json"');
  if (positionals[0] === 'rollback') {
    const target = await openTarget(values.target ?? 'local');
    try {
      const moved = await rollback(target, values.to);
      console.log(json ? JSON.stringify(moved) : `rolled back: current → ${moved.snapshot} (was ${moved.from})`);
    } finally {
      await target.close();
    }
    return 0;
  }
  if (positionals.length) throw new UsageError(`unknown command ${positionals[0]}`);
  if (!values.from || !values.to) throw new UsageError('--from and --to are required');
  const source = openSource(values.from);
  const target = await openTarget(values.to);
  try {
    const summary = await runExport({
      source, target, cluster: values['cluster-name'] ?? process.env.CLUSTER_NAME ?? 'default', clusterOrigin: process.env.CLUSTER_ORIGIN || undefined,
    });
    const planned = 'planned' in target ? (target as ReturnType<typeof dryRunTarget>).planned : undefined;
    if (json) console.log(JSON.stringify({ ...summary, ...(planned ? { planned } : {}) }));
    else {
      console.log(formatSummary(summary, source.description, target.description));
      if (planned) console.log(`dry run: would write ${planned.put.length} keys, delete ${planned.delete.length}: ${[...planned.put, ...planned.delete.map((k) => `-${k}`)].join(' ') || 'nothing'}`);
    }
    return values.strict && summary.counts.withProblems ? 3 : 0;
  } finally {
    await target.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`usage error: ${e.message}`);
      process.exit(2);
    }
    console.error(e instanceof ExportError ? `export failed: ${e.message}` : `export failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
