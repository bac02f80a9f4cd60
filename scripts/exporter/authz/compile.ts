/**
 * Compiles KubeSphere's IAM objects into the snapshot's `AuthzData` (worker/model/authz.ts): roles once each with
 * their rules and evaluable Rego, bindings per list in ks-apiserver's visiting order with their roles resolved and
 * their subjects reduced to user and group names, the users' states and the namespaces' workspaces.
 *
 * Nothing here ever grants more than KubeSphere would: an invalid object grants nothing, a role whose Rego is not
 * evaluated grants only its rules, and a roleRef KubeSphere cannot resolve stays an error that ends its list's walk.
 * Every such case is reported with the object's kind, name and reason.
 */
import * as v from 'valibot';
import type { AuthzData, CompiledBinding, CompiledRole, CompiledRule } from '../../../worker/model/authz';
import {
  IamBinding, IamRole, Namespace, REGO_ANNOTATION, User, USER_STATES, WORKSPACE_LABEL, type PolicyRule,
} from '../../../worker/model/iam';
import type { ResourceReport } from '../../../worker/model/snapshot';
import type { RawObject } from '../manifests';
import { parseRego, RegoUnsupported } from './rego-parse';

export interface AuthzCompileResult { data: AuthzData; reports: ResourceReport[] }

type Validated<T> = { value: T; origin: string };

export function compileAuthz(objects: readonly RawObject[]): AuthzCompileResult {
  const reports = new Map<string, ResourceReport>();
  const report = (kind: string, name: string) => {
    const key = `${kind}/${name}`;
    let r = reports.get(key);
    if (!r) reports.set(key, (r = { kind, name, state: kind === 'User' ? 'User' : 'IAM', routes: [], problems: [], warnings: [] }));
    return r;
  };
  const roles: Validated<IamRole>[] = [];
  const bindings: Validated<IamBinding>[] = [];
  const users: Validated<User>[] = [];
  const namespaces: Validated<Namespace>[] = [];
  for (const o of objects) {
    const kind = String(o.doc.kind);
    const schema = kind === 'User' ? User : kind === 'Namespace' ? Namespace : kind.endsWith('Binding') ? IamBinding : IamRole;
    const parsed = v.safeParse(schema, o.doc);
    if (!parsed.success) {
      const meta = o.doc.metadata as { name?: unknown; namespace?: unknown } | undefined;
      const name = [meta?.namespace, meta?.name].filter((x) => typeof x === 'string' && x).join('/') || '(unnamed)';
      report(kind, name).problems.push(
        `invalid (${o.origin}), so it grants nothing: ${parsed.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`).join('; ')}`,
      );
      continue;
    }
    const value = parsed.output;
    if (value.kind === 'User') users.push({ value, origin: o.origin });
    else if (value.kind === 'Namespace') namespaces.push({ value, origin: o.origin });
    else if ('roleRef' in value) bindings.push({ value: value as IamBinding, origin: o.origin });
    else roles.push({ value: value as IamRole, origin: o.origin });
  }

  const compiledRoles: CompiledRole[] = [];
  const roleIndex = new Map<string, number>();
  for (const { value: role } of sortByName(roles)) {
    const id = roleId(role.kind, role.metadata.name, role.metadata.namespace);
    if (roleIndex.has(id)) {
      report(role.kind, qualified(role.metadata)).problems.push('defined twice; the first definition is used');
      continue;
    }
    const compiled: CompiledRole = { ref: `${role.kind} ${JSON.stringify(qualified(role.metadata))}`, rules: (role.rules ?? []).map(compileRule) };
    const rego = role.metadata.annotations?.[REGO_ANNOTATION];
    if (rego !== undefined && rego.trim() !== '') {
      try {
        compiled.rego = parseRego(rego);
      } catch (e) {
        // Whatever a role author wrote (a stack-deep policy included) costs this role its policy, never the export.
        const why = e instanceof RegoUnsupported ? e.message : `it could not be read: ${(e as Error).message}`;
        report(role.kind, qualified(role.metadata)).warnings.push(
          `its ${REGO_ANNOTATION} policy is not evaluated at the edge (${why}); the role grants only its rules here, which may be less than in KubeSphere`,
        );
      }
    }
    roleIndex.set(id, compiledRoles.length);
    compiledRoles.push(compiled);
  }

  const data: AuthzData = {
    // Records without a prototype: a namespace, workspace or user may be named `constructor` or `__proto__`.
    roles: compiledRoles, globalRoleBindings: [], clusterRoleBindings: [], workspaceRoleBindings: Object.create(null), roleBindings: Object.create(null),
    namespaceWorkspaces: Object.create(null), users: Object.create(null),
  };
  for (const { value: b } of visitingOrder(bindings)) {
    const r = report(b.kind, qualified(b.metadata));
    const compiled = compileBinding(b, roleIndex, r);
    if (b.kind === 'GlobalRoleBinding') data.globalRoleBindings.push(compiled);
    else if (b.kind === 'ClusterRoleBinding') data.clusterRoleBindings.push(compiled);
    else if (b.kind === 'WorkspaceRoleBinding') {
      const ws = b.metadata.labels?.[WORKSPACE_LABEL];
      if (!ws) r.warnings.push(`has no ${WORKSPACE_LABEL} label, so it applies to no workspace (as in KubeSphere)`);
      else (data.workspaceRoleBindings[ws] ??= []).push(compiled);
    } else {
      const ns = b.metadata.namespace;
      if (!ns) r.problems.push('a RoleBinding needs metadata.namespace; it grants nothing');
      else (data.roleBindings[ns] ??= []).push(compiled);
    }
  }
  for (const { value: u } of sortByName(users)) {
    const state = u.status?.state ?? '';
    if (state !== '' && !(USER_STATES as readonly string[]).includes(state)) {
      report('User', u.metadata.name).warnings.push(`status.state ${JSON.stringify(state)} is not a KubeSphere user state (${USER_STATES.join(', ')}); only "Disabled" refuses the user's tokens`);
    }
    data.users[u.metadata.name] = state;
  }
  for (const { value: ns } of sortByName(namespaces)) {
    const ws = ns.metadata.labels?.[WORKSPACE_LABEL];
    if (ws) data.namespaceWorkspaces[ns.metadata.name] = ws;
  }
  const withNews = [...reports.values()].filter((r) => r.problems.length || r.warnings.length);
  return { data, reports: withNews.sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1)) };
}

const roleId = (kind: string, name: string, namespace = '') => (kind === 'Role' ? `Role/${namespace}/${name}` : `${kind}/${name}`);
const qualified = (m: { name: string; namespace?: string }) => (m.namespace ? `${m.namespace}/${m.name}` : m.name);

function compileRule(rule: PolicyRule): CompiledRule {
  const out: CompiledRule = {};
  for (const key of ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
    const list = rule[key];
    if (list && list.length) out[key] = [...list];
  }
  return out;
}

/** Resolves the roleRef as ks-apiserver's `GetRoleReferenceRules` does for this binding's list. */
function compileBinding(b: IamBinding, roleIndex: Map<string, number>, r: ResourceReport): CompiledBinding {
  const ns = b.kind === 'RoleBinding' ? b.metadata.namespace ?? '' : '';
  const { kind, name } = b.roleRef;
  let role: CompiledBinding['role'];
  if (kind === 'Role' && ns === '') {
    role = `${b.kind} ${JSON.stringify(qualified(b.metadata))} refers to a Role without a namespace`;
    r.warnings.push(`roleRef kind Role outside a RoleBinding cannot be resolved; in KubeSphere's order it ends the walk of the ${b.kind} list`);
  } else if (kind === 'Role' || kind === 'ClusterRole' || kind === 'GlobalRole' || kind === 'WorkspaceRole') {
    const index = roleIndex.get(roleId(kind, name, ns));
    role = index ?? null;
    if (index === undefined) r.warnings.push(`roleRef ${kind} ${JSON.stringify(kind === 'Role' ? `${ns}/${name}` : name)} does not exist (or is invalid), so the binding grants nothing`);
  } else {
    role = `unsupported role reference kind: ${JSON.stringify(kind)}`;
    r.problems.push(`roleRef kind ${JSON.stringify(kind)} is not a role kind; as in KubeSphere it grants nothing${b.kind === 'GlobalRoleBinding' ? '' : ' and ends the walk of its list for its subjects'}`);
  }
  const users: string[] = [];
  const groups: string[] = [];
  for (const s of b.subjects ?? []) {
    if (s.kind === 'User') users.push(s.name);
    else if (s.kind === 'Group') groups.push(s.name);
    else if (s.kind === 'ServiceAccount') {
      const sns = s.namespace || ns;
      const prefix = s.apiGroup === 'rbac.authorization.k8s.io' ? 'system:serviceaccount' : s.apiGroup === 'kubesphere.io' ? 'kubesphere:serviceaccount' : undefined;
      // KubeSphere's own membership bindings carry ServiceAccount subjects with no apiGroup, which never match.
      if (prefix && sns) users.push(`${prefix}:${sns}:${s.name}`);
    } else r.warnings.push(`subject kind ${JSON.stringify(s.kind)} never matches, as in KubeSphere`);
  }
  const out: CompiledBinding = { name: qualified(b.metadata), role };
  if (users.length) out.users = users;
  if (groups.length) out.groups = groups;
  return out;
}

function sortByName<T extends { metadata: { name: string; namespace?: string } }>(list: Validated<T>[]): Validated<T>[] {
  return [...list].sort((a, b) => cmp(qualified(a.value.metadata), qualified(b.value.metadata)));
}

/** ks-apiserver lists bindings newest first (creationTimestamp), then by name, descending. */
function visitingOrder(list: Validated<IamBinding>[]): Validated<IamBinding>[] {
  const ts = (b: IamBinding) => (typeof b.metadata.creationTimestamp === 'string' ? Date.parse(b.metadata.creationTimestamp) || 0 : 0);
  return [...list].sort((a, b) => ts(b.value) - ts(a.value) || cmp(b.value.metadata.name, a.value.metadata.name));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

