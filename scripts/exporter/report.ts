/** Human-readable output of an export run: each resource with problems or warnings, then one summary line. */
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
  lines.push(
    `summary: ${s.resources.length} resources (${s.counts.APIService} APIService, ${s.counts.JSBundle} JSBundle, ` +
      `${s.counts.ReverseProxy} ReverseProxy), ${s.counts.withProblems} with problems; bundles ${kib(s.bundleBytes)}; ` +
      `wrote ${s.written.length} keys (${kib(s.bytesWritten)}), deleted ${s.deleted.length}; ` +
      `snapshot ${s.snapshot.slice(0, 12)} (${s.changed ? 'published' : 'unchanged'}); ${(s.ms / 1000).toFixed(2)} s`,
  );
  return redactCredentials(lines.join('\n'));
}
