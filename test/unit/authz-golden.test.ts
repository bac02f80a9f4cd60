/**
 * The edge's decision function against every golden case that reaches an extension route: `same` cases get
 * KubeSphere's decision and 403 wording, `stricter-ok` cases (KubeSphere allows them through a quirk) are refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizeRequest } from '../../worker/authz/guard';
import { forbiddenMessage } from '../../worker/authz/forbidden';
import type { AuthzTable } from '../../worker/authz/rbac';
import { goldenCases, goldenTable, subjectOf, type GoldenCase } from '../support/golden';

let table: AuthzTable;
beforeAll(async () => {
  ({ table } = await goldenTable());
});

/** What the worker sees of the request line: the runtime's URL parsing (dot segments resolved). */
function verdictOf(c: GoldenCase) {
  const url = new URL(c.input.path, 'http://edge.test');
  const { user, groups } = subjectOf(c);
  return authorizeRequest(table, c.input.method, url.pathname, url.search, user, groups);
}

const cases = goldenCases();
const label = (c: GoldenCase) => `${c.input.user ?? '(anonymous)'} ${c.input.method} ${c.input.path} → ${c.kubesphere.status}`;

describe('same as KubeSphere', () => {
  const same = cases.filter((c) => c.edge === 'same');
  it('has the golden cases', () => expect(same.length).toBe(156));
  it.each(same.map((c) => [label(c), c] as const))('%s', (_l, c) => {
    const v = verdictOf(c);
    if (c.kubesphere.status === 500) {
      expect(v.allowed).toBe(false);
      expect('error' in v && v.error).toContain('unable to determine kind and namespace');
      return;
    }
    expect(v.allowed).toBe(c.kubesphere.allowed);
    if (!v.allowed && 'ri' in v) expect(forbiddenMessage(v.ri, subjectOf(c).user, v.errors)).toBe(c.kubesphere.message);
  });
});

describe('stricter where KubeSphere relies on a quirk, never looser', () => {
  const stricter = cases.filter((c) => c.edge === 'stricter-ok');
  it('has the quirk cases, each one KubeSphere allows', () => {
    expect(stricter).toHaveLength(6);
    expect(stricter.every((c) => c.kubesphere.allowed)).toBe(true);
  });
  // Each quirk widens access: the edge's decision, on the path as the runtime parses it, refuses it.
  it.each(stricter.map((c) => [label(c), c] as const))('%s', (_l, c) => {
    expect(verdictOf(c).allowed).toBe(false);
  });
});

describe('two readings: KubeSphere narrower is refused, KubeSphere wider may stay refused', () => {
  const derived = goldenCases('two-readings.jsonl');
  it('has cases in both directions', () => {
    expect(derived.filter((c) => c.edge === 'same' && !c.kubesphere.allowed).length).toBeGreaterThanOrEqual(3);
    expect(derived.filter((c) => c.edge === 'stricter-ok' && c.kubesphere.allowed).length).toBeGreaterThanOrEqual(1);
  });
  it.each(derived.map((c) => [label(c), c] as const))('%s', (_l, c) => {
    const v = verdictOf(c);
    if (c.edge === 'stricter-ok') return expect(v.allowed).toBe(false);
    expect(v.allowed).toBe(c.kubesphere.allowed);
    if (!v.allowed && 'ri' in v) expect(forbiddenMessage(v.ri, subjectOf(c).user, v.errors)).toBe(c.kubesphere.message);
  });
});
