/**
 * Placeholders in directive values: `{host} {method} {path} {query} {uri} {scheme} {remote_host} {header.NAME}
 * {user}`, plus Caddy's long spellings (`{http.request.host}` …). Parsed once at export time into parts;
 * rendering is a join.
 */
import type { Template } from '../model/snapshot';

export const PLACEHOLDERS = ['host', 'method', 'path', 'query', 'uri', 'scheme', 'remote_host', 'user'] as const;
type Simple = (typeof PLACEHOLDERS)[number];

const CADDY_ALIASES: Record<string, Simple> = {
  'http.request.host': 'host',
  'http.request.method': 'method',
  'http.request.uri.path': 'path',
  'http.request.uri.query': 'query',
  'http.request.uri': 'uri',
  'http.request.scheme': 'scheme',
  'http.request.remote.host': 'remote_host',
  'http.auth.user.id': 'user',
};

const PLACEHOLDER = /\{([A-Za-z0-9_.-]+)\}/g;

/** Splits `text` into literal parts and placeholders; throws with the offending name when one is unknown. */
export function parseTemplate(text: string): Template {
  const parts: Template = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const raw = m[1]!;
    const at = m.index!;
    if (at > last) parts.push(text.slice(last, at));
    parts.push(placeholderOf(raw));
    last = at + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function placeholderOf(raw: string): Template[number] {
  if ((PLACEHOLDERS as readonly string[]).includes(raw)) return { placeholder: raw };
  if (raw in CADDY_ALIASES) return { placeholder: CADDY_ALIASES[raw]! };
  for (const prefix of ['header.', 'http.request.header.']) {
    if (raw.startsWith(prefix) && raw.length > prefix.length) {
      return { placeholder: 'header', arg: raw.slice(prefix.length).toLowerCase() };
    }
  }
  throw new Error(`unknown placeholder {${raw}}`);
}

/** What placeholders read: the request as it is at that point of the directive chain. */
export interface TemplateContext {
  host: string;
  method: string;
  path: string;
  /** Without the leading `?`. */
  query: string;
  scheme: string;
  remoteHost: string;
  user: string;
  headers: Headers;
}

/**
 * Where a rendered value lands, which decides how placeholder values are escaped (SPEC §3: nothing a request
 * supplies may change where it goes):
 * - `header`: control characters removed (a line break would end the header);
 * - `path`: escaped as a path segment (`/`, `?`, `#`, `%`, `;`, `$`… encoded), except `{path}` and `{uri}`,
 *   which are already paths in their escaped form;
 * - `raw`: as is (templates whose result is only compared, never sent).
 */
export type Landing = 'header' | 'path' | 'raw';

export function renderTemplate(template: Template, ctx: TemplateContext, where: Landing = 'raw'): string {
  if (template.length === 1 && typeof template[0] === 'string') return template[0];
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') out += part;
    else {
      const value = valueOf(part.placeholder, part.arg, ctx);
      out += where === 'raw' ? value : where === 'header' ? headerSafe(value)
        : part.placeholder === 'path' || part.placeholder === 'uri' ? value : escapePathSegment(value);
    }
  }
  return out;
}

/**
 * A query template rendered as Caddy's `buildQueryString` does: the template is split at each literal `=` and `&`
 * into keys and values, placeholder values are query-escaped (so they can never add a parameter), `{path}` is the
 * decoded path (Caddy's `{http.request.uri.path}` is Go's `r.URL.Path`), `{query}` in a key position is the
 * request's query as it is, and empty keys leave no stray `&`.
 */
export function renderQuery(template: Template, ctx: TemplateContext): string {
  let out = '';
  let component = '';
  let isKey = true;
  const emit = (delimiter: '&' | '=' | undefined) => {
    if (!isKey) out += '=';
    else if (out.length > 0 && component.length > 0) out += '&';
    out += component;
    component = '';
    isKey = delimiter === '&';
  };
  for (const part of template) {
    if (typeof part !== 'string') {
      const value = valueOf(part.placeholder, part.arg, ctx);
      component += part.placeholder === 'query' && isKey ? value : part.placeholder === 'path' ? queryEscapeDecoded(value) : queryEscape(value);
      continue;
    }
    for (const ch of part) {
      if (ch === '&' || ch === '=') emit(ch);
      else component += ch;
    }
  }
  emit(undefined);
  return out;
}

function valueOf(name: string, arg: string | undefined, ctx: TemplateContext): string {
  switch (name) {
    case 'host': return ctx.host;
    case 'method': return ctx.method;
    case 'path': return ctx.path;
    case 'query': return ctx.query;
    case 'uri': return ctx.query ? `${ctx.path}?${ctx.query}` : ctx.path;
    case 'scheme': return ctx.scheme;
    case 'remote_host': return ctx.remoteHost;
    case 'user': return ctx.user;
    case 'header': return ctx.headers.get(arg ?? '') ?? '';
    default: return '';
  }
}

const UNRESERVED_SEGMENT = /[A-Za-z0-9\-._~!'()*+,=:@&]/;

/** A value made safe for one path segment: everything but unreserved characters percent-encoded (UTF-8). */
export function escapePathSegment(value: string): string {
  let out = '';
  for (const ch of value) {
    if (UNRESERVED_SEGMENT.test(ch)) out += ch;
    else for (const b of new TextEncoder().encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.QueryEscape: space as `+`, everything but `A-Za-z0-9-_.~` percent-encoded. */
export function queryEscape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}

/**
 * Go's url.QueryEscape of the bytes an escaped path decodes to (malformed escapes kept as they are): `/a%23frag`
 * becomes `%2Fa%23frag`, which a query parser reads back as `/a#frag`, and never as a second parameter.
 */
export function queryEscapeDecoded(path: string): string {
  let out = '';
  const hex = (b: number) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  const put = (b: number) => {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e) out += String.fromCharCode(b);
    else out += b === 0x20 ? '+' : hex(b);
  };
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(path.slice(i + 1, i + 3))) {
      put(parseInt(path.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) put(c);
    else {
      const cp = path.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of new TextEncoder().encode(String.fromCodePoint(cp))) put(b);
    }
  }
  return out;
}

/** Removes what would break or split a header value: CR, LF, NUL and the other control characters but tab. */
export function headerSafe(value: string): string {
  return /[\x00-\x08\x0a-\x1f\x7f]/.test(value) ? value.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '') : value;
}
