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
import type { AuthzData, CompiledRole } from '../model/authz';
import { regoAllows } from './rego';
import type { RequestInfo } from './request-info';
import { ruleAllows } from './rules';
import { BindingList } from './subjects';

export interface Subject { name: string; groups: readonly string[] }

export type Decision = { allowed: true; reason: string } | { allowed: false; errors: string[] };

export class AuthzTable {
  private readonly global: BindingList;
  private readonly cluster: BindingList;
  private readonly workspaces = new Map<string, BindingList>();
  private readonly namespaces = new Map<string, BindingList>();

  constructor(readonly data: AuthzData) {
    this.global = new BindingList(data.globalRoleBindings);
    this.cluster = new BindingList(data.clusterRoleBindings);
    for (const [ws, list] of Object.entries(data.workspaceRoleBindings)) this.workspaces.set(ws, new BindingList(list));
    for (const [ns, list] of Object.entries(data.roleBindings)) this.namespaces.set(ns, new BindingList(list));
  }

  userState(name: string): string | undefined {
    return Object.hasOwn(this.data.users, name) ? this.data.users[name] : undefined;
  }

  decide(ri: RequestInfo, subject: Subject): Decision {
    const errors: string[] = [];
    const visit = (list: BindingList | undefined, kind: string, abortOnError: boolean): Decision | 'continue' | 'abort' => {
      if (!list) return 'continue';
      for (const b of list.matching(subject.name, subject.groups)) {
        if (typeof b.role === 'string') {
          errors.push(b.role);
          if (abortOnError) return 'abort';
          continue;
        }
        const role = b.role === null ? undefined : this.data.roles[b.role];
        if (role && this.roleAllows(role, ri, subject)) return { allowed: true, reason: `allowed by ${kind} ${JSON.stringify(b.name)} of ${role.ref}` };
      }
      return 'continue';
    };
    const steps: [() => BindingList | undefined, string, boolean][] = [[() => this.global, 'GlobalRoleBinding', false]];
    if (ri.scope !== 'Global') {
      const ws = ri.scope === 'Namespace' ? this.data.namespaceWorkspaces[ri.namespace] ?? '' : ri.scope === 'Workspace' ? ri.workspace : '';
      if (ws !== '') steps.push([() => this.workspaces.get(ws), 'WorkspaceRoleBinding', true]);
      if (ri.scope === 'Namespace') steps.push([() => this.namespaces.get(ri.namespace), 'RoleBinding', true]);
      steps.push([() => this.cluster, 'ClusterRoleBinding', true]);
    }
    for (const [list, kind, abort] of steps) {
      const r = visit(list(), kind, abort);
      if (r === 'abort') break;
      if (r !== 'continue') return r;
    }
    return { allowed: false, errors };
  }

  private roleAllows(role: CompiledRole, ri: RequestInfo, subject: Subject): boolean {
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

