/**
 * One PolicyRule against one request, a function per facet, as Kubernetes' RBAC `evaluation_helpers.go` (which
 * KubeSphere's follows): verbs, API groups, resources (with `*` + `/subresource`), resource names, non-resource URLs.
 * Comparisons are exact and case-sensitive; a non-resource verb is the raw HTTP method (`GET`, not `get`).
 */
import type { CompiledRule } from '../model/authz';
import type { RequestInfo } from './request-info';

const NONE: readonly string[] = [];

export function verbMatches(rule: CompiledRule, verb: string): boolean {
  for (const v of rule.verbs ?? NONE) if (v === '*' || v === verb) return true;
  return false;
}

export function apiGroupMatches(rule: CompiledRule, group: string): boolean {
  for (const g of rule.apiGroups ?? NONE) if (g === '*' || g === group) return true;
  return false;
}

export function resourceMatches(rule: CompiledRule, resource: string, subresource: string): boolean {
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  for (const r of rule.resources ?? NONE) {
    if (r === '*' || r === combined) return true;
    if (subresource !== '' && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

export function resourceNameMatches(rule: CompiledRule, name: string): boolean {
  const names = rule.resourceNames ?? NONE;
  if (names.length === 0) return true;
  for (const n of names) if (n === name) return true;
  return false;
}

/** `*`, the exact path, or a prefix ending in `*` (`/proxy/x/*` matches `/proxy/x/` but not `/proxy/x`). */
export function nonResourceURLMatches(rule: CompiledRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? NONE) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

export function ruleAllows(rule: CompiledRule, ri: RequestInfo): boolean {
  if (ri.isResourceRequest) {
    return verbMatches(rule, ri.verb) && apiGroupMatches(rule, ri.apiGroup)
      && resourceMatches(rule, ri.resource, ri.subresource) && resourceNameMatches(rule, ri.name);
  }
  return verbMatches(rule, ri.verb) && nonResourceURLMatches(rule, ri.path);
}
