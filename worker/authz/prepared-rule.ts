/**
 * A PolicyRule prepared once per snapshot for matching: each list with its `*` found in advance and the
 * non-resource URLs split into exact paths and prefixes (`TrimRight(url, "*")`), so a request costs no string
 * building or regular expression.
 */
import type { CompiledRule } from '../model/authz';

export interface PreparedRule {
  verbs: readonly string[];
  anyVerb: boolean;
  apiGroups: readonly string[];
  anyGroup: boolean;
  resources: readonly string[];
  anyResource: boolean;
  resourceNames: readonly string[];
  urls: readonly string[];
  urlPrefixes: readonly string[];
  anyURL: boolean;
}

const NONE: readonly string[] = [];

export function prepareRule(rule: CompiledRule): PreparedRule {
  const urls = rule.nonResourceURLs ?? NONE;
  return {
    verbs: rule.verbs ?? NONE,
    anyVerb: (rule.verbs ?? NONE).includes('*'),
    apiGroups: rule.apiGroups ?? NONE,
    anyGroup: (rule.apiGroups ?? NONE).includes('*'),
    resources: rule.resources ?? NONE,
    anyResource: (rule.resources ?? NONE).includes('*'),
    resourceNames: rule.resourceNames ?? NONE,
    urls,
    urlPrefixes: urls.filter((u) => u.endsWith('*')).map((u) => u.replace(/\*+$/, '')),
    anyURL: urls.includes('*'),
  };
}
