/**
 * One PolicyRule against one request, a function per facet, as Kubernetes' RBAC `evaluation_helpers.go` (which
 * KubeSphere's follows): verbs, API groups, resources (with `*` + `/subresource`), resource names, non-resource URLs.
 * Comparisons are exact and case-sensitive; a non-resource verb is the raw HTTP method (`GET`, not `get`).
 */
import type { CompiledRule } from '../model/authz';
import { prepareRule, type PreparedRule } from './prepared-rule';
import type { RequestInfo } from './request-info';

type Rule = PreparedRule | CompiledRule;
const prepared = (r: Rule): PreparedRule => ('anyVerb' in r ? r : prepareRule(r));

export function verbMatches(rule: Rule, verb: string): boolean {
  const r = prepared(rule);
  return r.anyVerb || r.verbs.includes(verb);
}

export function apiGroupMatches(rule: Rule, group: string): boolean {
  const r = prepared(rule);
  return r.anyGroup || r.apiGroups.includes(group);
}

export function resourceMatches(rule: Rule, resource: string, subresource: string): boolean {
  const r = prepared(rule);
  if (r.anyResource) return true;
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  for (const x of r.resources) {
    if (x === combined) return true;
    if (subresource !== '' && x.length === subresource.length + 2 && x.startsWith('*/') && x.endsWith(subresource)) return true;
  }
  return false;
}

export function resourceNameMatches(rule: Rule, name: string): boolean {
  const r = prepared(rule);
  return r.resourceNames.length === 0 || r.resourceNames.includes(name);
}

/** `*`, the exact path, or a prefix ending in `*` (`/proxy/x/*` matches `/proxy/x/` but not `/proxy/x`). */
export function nonResourceURLMatches(rule: Rule, path: string): boolean {
  const r = prepared(rule);
  if (r.anyURL || r.urls.includes(path)) return true;
  for (const prefix of r.urlPrefixes) if (path.startsWith(prefix)) return true;
  return false;
}

export function ruleAllows(rule: PreparedRule, ri: RequestInfo): boolean {
  if (ri.isResourceRequest) {
    return verbMatches(rule, ri.verb) && apiGroupMatches(rule, ri.apiGroup)
      && resourceMatches(rule, ri.resource, ri.subresource) && resourceNameMatches(rule, ri.name);
  }
  return verbMatches(rule, ri.verb) && nonResourceURLMatches(rule, ri.path);
}
