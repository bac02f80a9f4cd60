/** The deployment manifests: least privilege, a pinned image, bounded resources. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { IAM_PLURALS } from '../../scripts/exporter/sources/kube';

const docs = (file: string) => parseAllDocuments(readFileSync(`config/deploy/${file}`, 'utf8')).map((d) => d.toJS() as Record<string, any>).filter(Boolean);
const rulesOf = (file: string) => docs(file).filter((d) => d.kind === 'ClusterRole').flatMap((d) => d.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]);

/** What KubeSphere's authorizer reads (issue #9), written out: the exporter's list must not drift from it either. */
const AUTHZ_PLURALS = ['globalroles', 'globalrolebindings', 'clusterroles', 'clusterrolebindings', 'workspaceroles',
  'workspacerolebindings', 'roles', 'rolebindings', 'users', 'namespaces'];

describe('RBAC', () => {
  it('the exporter lists every kind authorization reads', () => {
    expect(IAM_PLURALS.map((k) => k.plural).sort()).toEqual([...AUTHZ_PLURALS].sort());
  });

  it.each(['rbac.yaml', 'rbac-namespaced.yaml'])('%s lists and watches exactly the kinds authorization reads, and never writes', (file) => {
    const rules = rulesOf(file);
    for (const k of IAM_PLURALS) {
      expect(rules.some((r) => r.apiGroups.includes(k.group) && r.resources.includes(k.plural) && r.verbs.includes('list') && r.verbs.includes('watch')), k.plural).toBe(true);
    }
    const verbs = new Set(rules.flatMap((r) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
    const iam = rules.filter((r) => r.apiGroups.includes('iam.kubesphere.io')).flatMap((r) => r.resources).sort();
    expect(iam).toEqual(IAM_PLURALS.filter((k) => k.group).map((k) => k.plural).sort());
    // ConfigMaps and Secrets are read by name only, never listed.
    for (const r of rules) if (r.resources.includes('secrets') || r.resources.includes('configmaps')) expect(r.verbs).toEqual(['get']);
  });

  it('the namespaced variant grants no Secret access cluster-wide', () => {
    expect(rulesOf('rbac-namespaced.yaml').some((r) => r.resources.includes('secrets'))).toBe(false);
    const role = docs('rbac-namespaced.yaml').find((d) => d.kind === 'Role')!;
    expect(role.rules[0].resources).toEqual(['configmaps', 'secrets']);
  });
});

describe('workloads', () => {
  it.each(['cronjob.yaml', 'watch-deployment.yaml'])('%s: image pinned by digest, CPU and memory limits, a bounded /tmp', (file) => {
    const text = JSON.stringify(docs(file));
    const images = [...text.matchAll(/"image":"([^"]+)"/g)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(text).toMatch(/"limits":\{"cpu":"[^"]+","memory":"[^"]+"\}/);
    expect(text).toMatch(/"name":"tmp","emptyDir":\{"sizeLimit":"[^"]+"\}/);
  });
});
