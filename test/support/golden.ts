/**
 * The golden set (test/fixtures/ks-authz, a copy of decisions made by KubeSphere's own authorizer code): its
 * cases and its IAM objects compiled by the real exporter code.
 */
import { readFileSync } from 'node:fs';
import { compileAuthz } from '../../scripts/exporter/authz/compile';
import { readManifestFolder } from '../../scripts/exporter/manifests';
import { iamKindOf } from '../../scripts/exporter/validate';
import { AuthzTable } from '../../worker/authz/rbac';

export const GOLDEN = 'test/fixtures/ks-authz';

export interface GoldenCase {
  input: { user?: string; groups?: string[]; method: string; path: string; headers?: Record<string, string>; note?: string };
  kubesphere: { allowed: boolean; status: number; message?: string; reason?: string };
  edge: 'same' | 'stricter-ok' | 'not-an-extension-route';
  route?: string;
  viaToken?: boolean;
  derivedFrom?: string;
}

/**
 * `cases.jsonl`: decisions KubeSphere's own code made. `two-readings.jsonl`: decisions derived by reading its source
 * (each case says where from) for KubeSphere's second reading of a request, both the directions where it is
 * narrower (the edge must refuse) and wider (the edge may refuse).
 */
export const goldenCases = (file: 'cases.jsonl' | 'two-readings.jsonl' = 'cases.jsonl'): GoldenCase[] =>
  readFileSync(`${GOLDEN}/${file}`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as GoldenCase);

export async function goldenTable() {
  const { objects } = await readManifestFolder(`${GOLDEN}/objects`);
  const compiled = compileAuthz(objects.filter((o) => iamKindOf(o.doc)));
  return { table: new AuthzTable(compiled.data), compiled };
}

/** The identity the case names: anonymous when it names no user. */
export const subjectOf = (c: GoldenCase) => ({
  user: c.input.user ?? 'system:anonymous',
  groups: c.input.groups ?? ['system:unauthenticated'],
});
