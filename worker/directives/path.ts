/**
 * Path directives: stripPathPrefix, stripPathSuffix, rewrite, replace, pathRegexp. Paths stay percent-encoded as
 * the client sent them; comparisons decode escapes and ignore case, as Caddy's `uri strip_prefix` does.
 */
import type { PathPattern, RegexpRule, ReplaceRule, RewriteRule } from '../model/snapshot';
import { globToRegExp } from './parse';
import { compileGoRegexp, goReplaceAll } from './go-regexp';
import { renderQuery, renderTemplate, type TemplateContext } from './template';

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
      if (!re) {
        if (globCache.size >= 1000) globCache.delete(globCache.keys().next().value!);
        globCache.set(pattern.text, (re = globToRegExp(pattern.text)));
      }
      return re.test(lowerCleanPath);
    }
  }
}

/** The mutable part of the request that path directives work on. */
export interface PathState { path: string; query: string }

/**
 * First matching rule wins: a non-empty path part replaces the path, a `?…` part replaces the query (rendered as
 * Caddy's buildQueryString). Placeholder values are escaped for where they land; a `?` in the rendered path
 * starts a query (used only when the rule has none), as in Caddy.
 */
export function applyRewrite(state: PathState, rules: readonly RewriteRule[], ctx: TemplateContext): void {
  if (rules.length === 0) return;
  const subject = cleanPath(state.path).toLowerCase();
  for (const rule of rules) {
    if (!pathPatternMatches(rule.pattern, subject)) continue;
    const view = { ...ctx, path: state.path, query: state.query };
    if (rule.path) {
      let path = renderTemplate(rule.path, view, 'path');
      const q = path.indexOf('?');
      if (q >= 0) {
        if (!rule.query) state.query = path.slice(q + 1);
        path = path.slice(0, q);
      }
      state.path = path.startsWith('/') ? path : `/${path}`;
    }
    if (rule.query) state.query = renderQuery(rule.query, view);
    return;
  }
}

export function applyReplace(state: PathState, rules: readonly ReplaceRule[], ctx: TemplateContext): void {
  for (const rule of rules) {
    const view = { ...ctx, path: state.path, query: state.query };
    const find = renderTemplate(rule.find, view, 'path');
    if (find !== '') state.path = state.path.split(find).join(renderTemplate(rule.replacement, view, 'path'));
  }
}

/** Go's regexp (RE2, linear time) with Go's replacement template, on the escaped path. */
export function applyPathRegexp(state: PathState, rules: readonly RegexpRule[], ctx: TemplateContext): void {
  for (const rule of rules) {
    const template = renderTemplate(rule.replacement, { ...ctx, path: state.path, query: state.query }, 'path');
    state.path = goReplaceAll(compileGoRegexp(rule.source), state.path, template);
  }
}

/**
 * The path as a lenient upstream could resolve it: percent-escapes decoded (repeatedly, for double encoding such as
 * `%252e`), `\\` read as `/`, `;` path parameters dropped from each segment (Tomcat reads `..;` as `..`), then dot
 * segments resolved. Clients' plain dot segments are resolved by URL parsing before matching; these forms survive it.
 */
export function upstreamView(path: string): string {
  return cleanPath(leniently(path));
}

function leniently(path: string): string {
  let decoded = path;
  for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(decoded); i++) decoded = decoded.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return decoded.replace(/\\/g, '/').split('/').map((seg) => {
    const semi = seg.indexOf(';');
    return semi < 0 ? seg : seg.slice(0, semi);
  }).join('/');
}

/** Whether any reading of the path, as above, holds a `.` or `..` segment. */
export function hasDotSegments(path: string): boolean {
  if (!/%|\\|;|(^|\/)\.\.?(\/|$)/.test(path)) return false;
  return leniently(path).split('/').some((seg) => seg === '.' || seg === '..');
}

/** Whether any reading of the path climbs with a `..` segment: refused once directives have built the path. */
export function climbs(path: string): boolean {
  return hasDotSegments(path) && leniently(path).split('/').includes('..');
}

/** Whether `path`, as an upstream would resolve it, stays under the prefix its route claimed. */
export function staysWithin(path: string, prefix: string): boolean {
  if (!hasDotSegments(path)) return true;
  const seen = upstreamView(path);
  return seen.startsWith(prefix) || `${seen}/` === prefix;
}
