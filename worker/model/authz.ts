/**
 * The compiled authorization data in a snapshot: KubeSphere's roles, bindings, users and namespace→workspace map,
 * prepared by the exporter so the worker evaluates from memory. Routes and permissions travel in one snapshot,
 * so they always change together.
 *
 * Roles are stored once and referenced by index. A binding's `role` is that index, `null` when the role does not
 * exist (KubeSphere: no rules, no error), or a string when resolving it is an error in KubeSphere (an unsupported
 * `roleRef.kind`), which ends the walk of that binding list as ks-apiserver's `visitRulesFor` does.
 */
import * as v from 'valibot';

const Strings = v.array(v.string());

/** A PolicyRule; absent lists are empty. */
export const CompiledRule = v.object({
  verbs: v.optional(Strings),
  apiGroups: v.optional(Strings),
  resources: v.optional(Strings),
  resourceNames: v.optional(Strings),
  nonResourceURLs: v.optional(Strings),
});
export type CompiledRule = v.InferOutput<typeof CompiledRule>;

/** A term of the Rego subset the edge evaluates (see scripts/exporter/authz/rego-parse.ts). */
export type RegoTerm =
  | { t: 'value'; v: string | number | boolean | null }
  | { t: 'array'; items: RegoTerm[] }
  | { t: 'ref'; head: string; path: RegoPathElement[] }
  | { t: 'call'; fn: string; args: RegoTerm[] };
/** `.name` / `["name"]` (an object's field), `[n]` (an array's element), `[_]` (every element or field). */
export type RegoPathElement = { key: string } | { index: number } | { any: true };
export type RegoExpr =
  | { op: 'eq' | 'neq'; left: RegoTerm; right: RegoTerm }
  | { op: 'assign'; name: string; value: RegoTerm }
  | { op: 'test'; term: RegoTerm };

export const RegoTermSchema: v.GenericSchema<RegoTerm> = v.variant('t', [
  v.object({ t: v.literal('value'), v: v.union([v.string(), v.number(), v.boolean(), v.null()]) }),
  v.object({ t: v.literal('array'), items: v.array(v.lazy(() => RegoTermSchema)) }),
  v.object({ t: v.literal('ref'), head: v.string(), path: v.array(v.union([v.object({ key: v.string() }), v.object({ index: v.number() }), v.object({ any: v.literal(true) })])) }),
  v.object({ t: v.literal('call'), fn: v.string(), args: v.array(v.lazy(() => RegoTermSchema)) }),
]);

export const RegoExprSchema: v.GenericSchema<RegoExpr> = v.variant('op', [
  v.object({ op: v.picklist(['eq', 'neq']), left: RegoTermSchema, right: RegoTermSchema }),
  v.object({ op: v.literal('assign'), name: v.string(), value: RegoTermSchema }),
  v.object({ op: v.literal('test'), term: RegoTermSchema }),
]);

/** `data.authz.allow` is true when the body of any `allow = true { … }` rule holds (default false). */
export const RegoProgram = v.object({ allow: v.array(v.array(RegoExprSchema)) });
export type RegoProgram = v.InferOutput<typeof RegoProgram>;

export const CompiledRole = v.object({
  /** `Kind/name` (`Role/ns/name`), for reasons and the status page. */
  ref: v.string(),
  rules: v.array(CompiledRule),
  rego: v.optional(RegoProgram),
});
export type CompiledRole = v.InferOutput<typeof CompiledRole>;

/** Subjects reduced to what they match: a user name (User, ServiceAccount) or a group name. */
export const CompiledBinding = v.object({
  name: v.string(),
  role: v.union([v.number(), v.null(), v.string()]),
  users: v.optional(Strings),
  groups: v.optional(Strings),
});
export type CompiledBinding = v.InferOutput<typeof CompiledBinding>;

export const AuthzData = v.object({
  roles: v.array(CompiledRole),
  /** In KubeSphere's visiting order (creationTimestamp, then name, descending). */
  globalRoleBindings: v.array(CompiledBinding),
  clusterRoleBindings: v.array(CompiledBinding),
  /** By the binding's `kubesphere.io/workspace` label. */
  workspaceRoleBindings: v.record(v.string(), v.array(CompiledBinding)),
  /** By namespace. */
  roleBindings: v.record(v.string(), v.array(CompiledBinding)),
  /** Namespace → its `kubesphere.io/workspace` label (namespaces without the label are left out). */
  namespaceWorkspaces: v.record(v.string(), v.string()),
  /** User name → `status.state`. A JWT user not listed here does not exist in the cluster. */
  users: v.record(v.string(), v.string()),
});
export type AuthzData = v.InferOutput<typeof AuthzData>;

/** How much authorization data a snapshot carries (the exporter's report, the pointer, the status page). */
export function authzCounts(a: AuthzData): Record<string, number> {
  const count = (r: Record<string, unknown[]>) => Object.values(r).reduce((n, l) => n + l.length, 0);
  return {
    roles: a.roles.length,
    bindings: a.globalRoleBindings.length + a.clusterRoleBindings.length + count(a.workspaceRoleBindings) + count(a.roleBindings),
    users: Object.keys(a.users).length,
    namespaces: Object.keys(a.namespaceWorkspaces).length,
  };
}

export const userSubject = (name: string) => `u:${name}`;
export const groupSubject = (name: string) => `g:${name}`;

/** A binding list's subject index: `u:<user>` / `g:<group>` → the positions of the bindings naming it, ascending. */
export function subjectIndex(bindings: readonly CompiledBinding[]): [string, number[]][] {
  const index = new Map<string, number[]>();
  const add = (key: string, i: number) => {
    const list = index.get(key);
    if (!list) index.set(key, [i]);
    else if (list[list.length - 1] !== i) list.push(i);
  };
  bindings.forEach((b, i) => {
    for (const u of b.users ?? []) add(userSubject(u), i);
    for (const g of b.groups ?? []) add(groupSubject(g), i);
  });
  return [...index];
}
