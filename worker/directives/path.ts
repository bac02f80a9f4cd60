/**
 * Path directives: stripPathPrefix, stripPathSuffix, rewrite, replace, pathRegexp. Paths stay percent-encoded as
 * the client sent them; comparisons decode escapes and ignore case, as Caddy's `uri strip_prefix` does.
 */
import type { PathPattern, RegexpRule, ReplaceRule, RewriteRule } from '../model/snapshot';
import { globToRegExp } from './parse';
import { renderTemplate, type TemplateContext } from './template';

/** Removes `prefix` (unescaped) from the escaped `path`, case-insensitively; unchanged when it does not match. */
export function stripPathPrefix(path: string, prefix: string): string {
  let i = 0;
  for (let j = 0; j < prefix.length; j++) {
    if (i >= path.length) return path;
    let ch = path[i]!;
    let width = 1;
    if (ch === '%' && i + 2 < path.length + 0 && /^[0-9a-fA-F]{2}$/.test(path.slice(i + 1, i + 3))) {
      ch = String.fromCharCode(parseInt(path.slice(i + 1, i + 3), 16));
      width = 3;
    }
    if (ch.toLowerCase() !== prefix[j]!.toLowerCase()) return path;
    i += width;
  }
  const rest = path.slice(i);
  return rest === '' || rest.startsWith('/') ? rest : '/' + rest;
}

export function stripPathSuffix(path: string, suffix: string): string {
  if (suffix === '' || path.length < suffix.length) return path;
  const tail = path.slice(path.length - suffix.length);
  return tail.toLowerCase() === suffix.toLowerCase() ? path.slice(0, path.length - suffix.length) : path;
}

/** Go's path.Clean, keeping a trailing slash: what rewrite patterns are compared with. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const cleaned = '/' + out.join('/');
  return path.endsWith('/') && cleaned !== '/' ? cleaned + '/' : cleaned;
}

const globCache = new Map<string, RegExp>();
export function pathPatternMatches(pattern: PathPattern, lowerCleanPath: string): boolean {
  switch (pattern.match) {
    case 'all': return true;
    case 'prefix': return lowerCleanPath.startsWith(pattern.text);
    case 'suffix': return lowerCleanPath.endsWith(pattern.text);
    case 'contains': return lowerCleanPath.includes(pattern.text);
    case 'exact': return lowerCleanPath === pattern.text;
    case 'glob': {
      let re = globCache.get(pattern.text);
      if (!re) globCache.set(pattern.text, (re = globToRegExp(pattern.text)));
      return re.test(lowerCleanPath);
    }
  }
}

/** The mutable part of the request that path directives work on. */
export interface PathState { path: string; query: string }

/** First matching rule wins: a non-empty path part replaces the path, a `?…` part replaces the query. */
export function applyRewrite(state: PathState, rules: readonly RewriteRule[], ctx: TemplateContext): void {
  if (rules.length === 0) return;
  const subject = cleanPath(state.path).toLowerCase();
  for (const rule of rules) {
    if (!pathPatternMatches(rule.pattern, subject)) continue;
    const view = { ...ctx, path: state.path, query: state.query };
    if (rule.path) state.path = renderTemplate(rule.path, view);
    if (rule.query) state.query = renderTemplate(rule.query, view);
    return;
  }
}

export function applyReplace(state: PathState, rules: readonly ReplaceRule[], ctx: TemplateContext): void {
  for (const rule of rules) {
    const view = { ...ctx, path: state.path, query: state.query };
    const find = renderTemplate(rule.find, view);
    if (find !== '') state.path = state.path.split(find).join(renderTemplate(rule.replacement, view));
  }
}

const regexpCache = new Map<string, RegExp>();
export function applyPathRegexp(state: PathState, rules: readonly RegexpRule[], ctx: TemplateContext): void {
  for (const rule of rules) {
    let re = regexpCache.get(rule.source);
    if (!re) regexpCache.set(rule.source, (re = new RegExp(rule.source, 'g')));
    re.lastIndex = 0;
    state.path = state.path.replace(re, renderTemplate(rule.replacement, { ...ctx, path: state.path, query: state.query }));
  }
}

/**
 * The path as an upstream that decodes `%2F`, `%5C` and `%2E` and resolves dot segments would see it. Clients'
 * dot segments are resolved by URL parsing before matching, but encoded ones survive it and could otherwise
 * widen what a matcher claimed (`/p/x/..%2F..%2Fadmin`).
 */
export function upstreamView(path: string): string {
  const decoded = path.replace(/%(2f|5c|2e)/gi, (m) => ({ '2f': '/', '5c': '/', '2e': '.' })[m.slice(1).toLowerCase() as '2f' | '5c' | '2e']!)
    .replace(/\\/g, '/');
  return cleanPath(decoded);
}

/** Whether `path`, as an upstream would resolve it, stays under the prefix its route claimed. */
export function staysWithin(path: string, prefix: string): boolean {
  if (!/%(2f|5c|2e)|\\|\/\.\.?(\/|$)/i.test(path)) return true;
  const seen = upstreamView(path);
  return seen.startsWith(prefix) || `${seen}/` === prefix;
}
