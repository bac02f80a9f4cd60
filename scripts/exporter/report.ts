/**
 * Human-readable output of an export run: each resource with problems or warnings, a table of resources by kind
 * and state, what was written, and one summary line; and for a dry run, what would change.
 */
import { redactCredentials } from '../../worker/redact';
import type { ExportSummary } from './run';

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export function formatSummary(s: ExportSummary, source: string, target: string): string {
  const lines = [`ks-edge export: ${source} → ${target}`];
  for (const r of s.resources) {
    const head = `${r.kind} ${r.name} [${r.state}]`;
    for (const p of r.problems) lines.push(`  ✗ ${head}: ${p}`);
    for (const w of r.warnings) lines.push(`  ! ${head}: ${w}`);
  }
  for (const i of s.ignored) lines.push(`  · ignored ${i}: not a kind ks-edge uses`);
  lines.push('missing' in s.iam
    ? `  ! authorization: no IAM data published (${s.iam.missing}); with AUTHZ=kubesphere only public routes are reachable`
    : `authorization: ${s.iam.roles} roles, ${s.iam.bindings} bindings, ${s.iam.users} users, ${s.iam.namespaces} namespaces in workspaces; ${s.iam.reported} IAM objects reported`);
  lines.push(...stateTable(s));
  lines.push(`keys: wrote ${s.written.length} (${kib(s.bytesWritten)}), unchanged ${s.unchanged}, deleted ${s.deleted.length}`);
  lines.push(
    `summary: ${s.resources.length} resources (${s.counts.APIService} APIService, ${s.counts.JSBundle} JSBundle, ` +
      `${s.counts.ReverseProxy} ReverseProxy), ${s.counts.withProblems} with problems; bundles ${kib(s.bundleBytes)}; ` +
      `wrote ${s.written.length} keys (${kib(s.bytesWritten)}), deleted ${s.deleted.length}; ` +
      `snapshot ${s.snapshot.slice(0, 12)} (${s.changed ? 'published' : 'unchanged'}); ${(s.ms / 1000).toFixed(2)} s`,
  );
  return redactCredentials(lines.join('\n'));
}

const EXTENSION_KINDS = ['APIService', 'JSBundle', 'ReverseProxy'] as const;

/** Resources by kind and state, with how many have problems (are rejected, in part or whole). */
function stateTable(s: ExportSummary): string[] {
  const states = [...new Set(s.resources.filter((r) => (EXTENSION_KINDS as readonly string[]).includes(r.kind)).map((r) => r.state))].sort();
  if (!states.length) return [];
  const cols = ['kind', ...states, 'rejected'];
  const rows = EXTENSION_KINDS.map((k) => {
    const of = s.resources.filter((r) => r.kind === k);
    return [k, ...states.map((st) => String(of.filter((r) => r.state === st).length)), String(of.filter((r) => r.problems.length).length)];
  });
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  return [line(cols), ...rows.map(line)];
}

/** A dry run: what would change against what KV holds, resource by resource and key by key. */
export function formatDryRun(s: ExportSummary, planned: { put: string[]; delete: string[] }): string {
  const lines = ['dry run — nothing written. Against the snapshot KV holds:'];
  for (const [sign, what, list] of [['+', 'added', s.diff.added], ['-', 'removed', s.diff.removed], ['~', 'changed', s.diff.changed]] as const) {
    lines.push(`  ${what}: ${list.length}`);
    for (const k of list) lines.push(`    ${sign} ${k}`);
  }
  lines.push(`  keys: would write ${planned.put.length}${planned.put.length ? ` (${planned.put.join(', ')})` : ''}, delete ${planned.delete.length}${planned.delete.length ? ` (${planned.delete.join(', ')})` : ''}`);
  return redactCredentials(lines.join('\n'));
}
