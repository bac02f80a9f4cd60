/**
 * KubeSphere's RBAC authorizer (pkg/apiserver/authorization/rbac/rbac.go `visitRulesFor`) over the compiled
 * snapshot data. Binding lists are visited in ks-apiserver's order, stopping at the first allow:
 *
 *   GlobalRoleBindings (always) → [Global scope stops here] → WorkspaceRoleBindings of the target workspace
 *   → RoleBindings of the namespace (Namespace scope) → ClusterRoleBindings
 *
 * The target workspace is the request's, or for a namespaced request its Namespace's `kubesphere.io/workspace`
 * label. A binding whose role cannot be resolved is skipped among GlobalRoleBindings and ends the walk elsewhere,
 * as in KubeSphere.
 */
import type { AuthzData, CompiledBinding, RegoProgram } from '../model/authz';
import { LazyRecord, NotLoaded } from '../snapshot/lazy-part';
import { type AuthzParts, authzPartsOf } from '../snapshot/snapshot-parts';
import { prepareRule, type PreparedRule } from './prepared-rule';
import { regoAllows } from './rego';
import type { RequestInfo } from './request-info';
import { ruleAllows } from './rules';
import { BindingList, type Bindings, IndexedBindings } from './subjects';

export interface Subject { name: string; groups: readonly string[] }

export type Decision = { allowed: true; reason: string } | { allowed: false; errors: string[] };

interface Role { ref: string; rules: PreparedRule[]; rego: RegoProgram | undefined }

/** What one walk of a binding list ended with. */
type Visit = { allowed: string } | 'next' | 'abort';

export class AuthzTable {
  private readonly parts: AuthzParts;
  private readonly roles: (Role | undefined)[] = [];
  private readonly global: IndexedBindings;
  private readonly cluster: IndexedBindings;
  private readonly workspaces = new Map<string, BindingList>();
  private readonly namespaces = new Map<string, BindingList>();

  /**
   * Over a snapshot's parts, read as a decision needs them (a cold isolate reads the user's chunks, not all
   * 10,000 bindings); or over the data in memory. Each list is indexed by subject once, on first use.
   */
  constructor(data: AuthzData | AuthzParts) {
    this.parts = data.users instanceof LazyRecord ? (data as AuthzParts) : authzPartsOf(data as AuthzData);
    this.global = new IndexedBindings(this.parts.globalRoleBindingSubjects, this.parts.globalRoleBindings);
    this.cluster = new IndexedBindings(this.parts.clusterRoleBindingSubjects, this.parts.clusterRoleBindings);
  }

  /** The user's `status.state`; undefined when the cluster has no such user. */
  userState(name: string): string | undefined {
    return this.parts.users.get(name);
  }

  /** Only keys the snapshot has are kept: the namespace or workspace comes from the request path. */
  private keyedList(cache: Map<string, BindingList>, part: AuthzParts['roleBindings'], key: string): BindingList | undefined {
    const known = cache.get(key);
    if (known) return known;
    const bindings = part.get(key);
    if (!bindings) return undefined;
    const list = new BindingList(bindings);
    cache.set(key, list);
    return list;
  }

  private role(i: number): Role | undefined {
    const known = this.roles[i];
    if (known) return known;
    const r = this.parts.roles.at(i);
    if (!r) return undefined;
    return (this.roles[i] = { ref: r.ref, rules: r.rules.map(prepareRule), rego: r.rego });
  }

  decide(ri: RequestInfo, subject: Subject): Decision {
    const errors: string[] = [];
    let v = this.visit(this.global, 'GlobalRoleBinding', false, ri, subject, errors);
    if (typeof v === 'object') return { allowed: true, reason: v.allowed };
    if (ri.scope !== 'Global') {
      const ws = ri.scope === 'Namespace' ? this.parts.namespaceWorkspaces.get(ri.namespace) ?? '' : ri.scope === 'Workspace' ? ri.workspace : '';
      if (ws !== '') v = this.visit(this.keyedList(this.workspaces, this.parts.workspaceRoleBindings, ws), 'WorkspaceRoleBinding', true, ri, subject, errors);
      if (v === 'next' && ri.scope === 'Namespace') v = this.visit(this.keyedList(this.namespaces, this.parts.roleBindings, ri.namespace), 'RoleBinding', true, ri, subject, errors);
      if (v === 'next') v = this.visit(this.cluster, 'ClusterRoleBinding', true, ri, subject, errors);
      if (typeof v === 'object') return { allowed: true, reason: v.allowed };
    }
    return { allowed: false, errors };
  }

  private visit(list: Bindings | undefined, kind: string, abortOnError: boolean, ri: RequestInfo, subject: Subject, errors: string[]): Visit {
    if (!list) return 'next';
    const found = list.matching(subject.name, subject.groups);
    for (let k = 0; k < found.length; k++) {
      let b: CompiledBinding;
      let role: Role | undefined;
      try {
        b = list.at(found[k]!)!;
        role = typeof b.role === 'number' ? this.role(b.role) : undefined;
      } catch (e) {
        // A cold isolate: load what the rest of the walk needs in one round, not a round per chunk.
        if (e instanceof NotLoaded) this.loadRest(list, found.slice(k));
        throw e;
      }
      if (typeof b.role === 'string') {
        errors.push(b.role);
        if (abortOnError) return 'abort';
        continue;
      }
      if (role && this.roleAllows(role, ri, subject)) return { allowed: `allowed by ${kind} "${b.name}" of ${role.ref}` };
    }
    return 'next';
  }

  /** Throws one NotLoaded for the bindings at `positions` and, once they are in, for the roles they name. */
  private loadRest(list: Bindings, positions: readonly number[]): void {
    list.ensure(positions);
    const roles: number[] = [];
    for (const i of positions) {
      const r = list.at(i)?.role;
      if (typeof r === 'number' && !this.roles[r]) roles.push(r);
    }
    this.parts.roles.ensure(roles);
  }

  private roleAllows(role: Role, ri: RequestInfo, subject: Subject): boolean {
    if (role.rego && regoAllows(role.rego, regoInput(ri, subject))) return true;
    for (const rule of role.rules) if (ruleAllows(rule, ri)) return true;
    return false;
  }
}

/** ks-apiserver's AttributesRecord as OPA sees it: Go field names, JSON round-tripped. */
function regoInput(ri: RequestInfo, s: Subject) {
  return {
    User: { Name: s.name, UID: '', Groups: [...s.groups], Extra: null },
    Verb: ri.verb, Cluster: ri.cluster, Workspace: ri.workspace, Namespace: ri.namespace, APIGroup: ri.apiGroup,
    APIVersion: ri.apiVersion, Resource: ri.resource, Subresource: ri.subresource, Name: ri.name,
    KubernetesRequest: ri.isKubernetesRequest, ResourceRequest: ri.isResourceRequest, Path: ri.path,
    ResourceScope: ri.scope,
  };
}
