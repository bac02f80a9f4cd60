/**
 * Parses ReverseProxy directives into their compiled form. Runs at export time only: a directive that cannot be
 * parsed makes its resource invalid with a reason quoting the entry, so the worker never parses text per request.
 * Every function here throws `DirectiveError` on bad input and nothing else.
 */
import type { Directives } from '../model/resources';
import type { CompiledDirectives, HeaderOp, PathPattern, RegexpRule, ReplaceRule, RewriteRule, Template } from '../model/snapshot';
import { compileGoRegexp } from './go-regexp';
import { parseTemplate } from './template';

export class DirectiveError extends Error {}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function fail(directive: string, entry: string, why: string): never {
  throw new DirectiveError(`${directive} ${JSON.stringify(entry)}: ${why}`);
}

function template(directive: string, entry: string, text: string) {
  try {
    return parseTemplate(text);
  } catch (e) {
    return fail(directive, entry, (e as Error).message);
  }
}

/** `-Name`, `-Prefix*`, `-*Suffix`, `-*part*`, `-*`; `+Name value`; `Name value` (quoted value loses its quotes). */
export function parseHeaderOp(directive: string, entry: string): HeaderOp {
  if (entry.length === 0) fail(directive, entry, 'empty entry');
  if (/[\r\n\0]/.test(entry)) fail(directive, entry, 'contains a line break or NUL');
  if (entry.startsWith('-')) {
    const name = entry.slice(1);
    if (name.includes(' ')) fail(directive, entry, 'a delete takes a header name only');
    if (name === '*') return { op: 'deleteMatching', match: 'all', text: '' };
    const starts = name.startsWith('*');
    const ends = name.endsWith('*');
    const core = name.slice(starts ? 1 : 0, ends ? name.length - 1 : name.length);
    if (!TOKEN.test(core) || core.includes('*')) fail(directive, entry, 'not a header name or wildcard');
    const lower = core.toLowerCase();
    if (starts && ends) return { op: 'deleteMatching', match: 'contains', text: lower };
    if (ends) return { op: 'deleteMatching', match: 'prefix', text: lower };
    if (starts) return { op: 'deleteMatching', match: 'suffix', text: lower };
    return { op: 'delete', name: lower };
  }
  const add = entry.startsWith('+');
  const body = add ? entry.slice(1) : entry;
  const space = body.indexOf(' ');
  if (space < 0) fail(directive, entry, 'needs a value after the header name (use "-Name" to delete)');
  const name = body.slice(0, space);
  if (!TOKEN.test(name)) fail(directive, entry, `${JSON.stringify(name)} is not a valid header name`);
  // Identity headers come from the verified token alone (authProxy), never from a manifest's template.
  if (directive === 'headerUp' && name.toLowerCase().replace(/_/g, '-').startsWith('x-remote-')) {
    fail(directive, entry, 'X-Remote-* headers are set by the gateway only (use authProxy)');
  }
  let value = body.slice(space + 1);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return { op: add ? 'add' : 'set', name, value: template(directive, entry, value) };
}

/** Caddy's path-matcher shapes: `*`, `x*`, `*x`, `*x*`, a glob, or an exact path. */
export function parsePathPattern(directive: string, entry: string, text: string): PathPattern {
  const lower = text.toLowerCase();
  if (lower === '*') return { match: 'all', text: '' };
  const starts = lower.startsWith('*');
  const ends = lower.endsWith('*');
  const core = lower.slice(starts ? 1 : 0, ends ? lower.length - 1 : lower.length);
  if (!/[*?[]/.test(core)) {
    if (starts && ends) return { match: 'contains', text: core };
    if (ends) return { match: 'prefix', text: core };
    if (starts) return { match: 'suffix', text: core };
    return { match: 'exact', text: core };
  }
  globToRegExp(lower, directive, entry); // validates
  return { match: 'glob', text: lower };
}

/** Go's path.Match syntax: `*` and `?` never cross `/`; `[...]` classes with `^`/`!` negation and ranges. */
export function globToRegExp(glob: string, directive = 'glob', entry = glob): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) fail(directive, entry, 'unterminated [ in pattern');
      let cls = glob.slice(i + 1, close);
      if (cls.startsWith('!') || cls.startsWith('^')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else if (ch === '\\' && i + 1 < glob.length) re += escapeRegExp(glob[++i]!);
    else re += escapeRegExp(ch);
  }
  try {
    return toRegExpLike(compileGoRegexp(re + '$'));
  } catch {
    return fail(directive, entry, 'invalid character class in pattern');
  }
}

/** Globs run on RE2 too (linear time): `*-*-*-x` against a long segment must not backtrack. */
function toRegExpLike(re: ReturnType<typeof compileGoRegexp>): RegExp {
  return { test: (s: string) => re.test(s) } as RegExp;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Splits on single spaces into exactly two fields (the second may be empty only where `allowEmpty`). */
function pair(directive: string, entry: string, allowEmptySecond: boolean): [string, string] {
  const fields = entry.split(' ');
  if (fields.length !== 2) fail(directive, entry, `expected "<${directive === 'rewrite' ? 'match' : 'find'}> <${directive === 'rewrite' ? 'uri' : 'replacement'}>" separated by one space, got ${fields.length} field(s)`);
  const [a, b] = fields as [string, string];
  if (a === '') fail(directive, entry, 'the first field is empty');
  if (b === '' && !allowEmptySecond) fail(directive, entry, 'the second field is empty');
  return [a, b];
}

export function parseRewrite(entry: string): RewriteRule {
  const [match, uri] = pair('rewrite', entry, false);
  const pattern = parsePathPattern('rewrite', entry, match);
  const q = uri.indexOf('?');
  const pathPart = q < 0 ? uri : uri.slice(0, q);
  const rule: RewriteRule = { pattern };
  if (pathPart !== '') {
    if (!pathPart.startsWith('/') && !pathPart.startsWith('{')) fail('rewrite', entry, 'the new path must start with "/"');
    rule.path = template('rewrite', entry, pathPart);
  }
  if (q >= 0) rule.query = template('rewrite', entry, uri.slice(q + 1));
  return rule;
}

export function parseReplace(entry: string): ReplaceRule {
  const [find, replacement] = pair('replace', entry, true);
  return { find: template('replace', entry, find), replacement: template('replace', entry, replacement) };
}

/** A Go (RE2) regular expression, compiled by a linear-time engine, and Go's replacement template as written. */
export function parsePathRegexp(entry: string): RegexpRule {
  const [source, replacement] = pair('pathRegexp', entry, true);
  try {
    compileGoRegexp(source);
  } catch (e) {
    fail('pathRegexp', entry, `invalid regular expression (RE2 syntax, as Go's): ${(e as Error).message}`);
  }
  return { source, replacement: goTemplate(entry, replacement) };
}

/** A replacement whose `${…}` (and `$$`) are Go's expansion, not placeholders; placeholders elsewhere. */
function goTemplate(entry: string, text: string): Template {
  const parts: Template = [];
  const push = (p: Template[number]) => {
    const last = parts[parts.length - 1];
    if (typeof p === 'string' && typeof last === 'string') parts[parts.length - 1] = last + p;
    else parts.push(p);
  };
  let at = 0;
  for (const m of text.matchAll(/\$\$|\$\{[^}]*\}/g)) {
    for (const p of template('pathRegexp', entry, text.slice(at, m.index))) push(p);
    push(m[0]);
    at = m.index! + m[0].length;
  }
  for (const p of template('pathRegexp', entry, text.slice(at))) push(p);
  return parts;
}

export function parseMethod(method: string): string {
  if (!TOKEN.test(method)) fail('method', method, 'not an HTTP method');
  return method.toUpperCase();
}

function parsePrefix(directive: string, value: string): string {
  if (/[\r\n\0?#]/.test(value)) fail(directive, value, 'must be a path (no "?", "#" or line breaks)');
  return value;
}

export function compileDirectives(d: Directives | undefined): CompiledDirectives {
  const list = (xs: string[] | undefined) => xs ?? [];
  return {
    method: d?.method ? parseMethod(d.method) : undefined,
    stripPathPrefix: d?.stripPathPrefix ? parsePrefix('stripPathPrefix', d.stripPathPrefix) : undefined,
    stripPathSuffix: d?.stripPathSuffix ? parsePrefix('stripPathSuffix', d.stripPathSuffix) : undefined,
    headerUp: list(d?.headerUp).map((e) => parseHeaderOp('headerUp', e)),
    headerDown: list(d?.headerDown).map((e) => parseHeaderOp('headerDown', e)),
    rewrite: list(d?.rewrite).map(parseRewrite),
    replace: list(d?.replace).map(parseReplace),
    pathRegexp: list(d?.pathRegexp).map(parsePathRegexp),
    authProxy: d?.authProxy ?? false,
    wrapTransport: d?.wrapTransport ?? false,
    rejectForwardingRedirects: d?.rejectForwardingRedirects ?? false,
  };
}
