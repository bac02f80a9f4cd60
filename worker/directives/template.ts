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

export function renderTemplate(template: Template, ctx: TemplateContext): string {
  if (template.length === 1 && typeof template[0] === 'string') return template[0];
  let out = '';
  for (const part of template) out += typeof part === 'string' ? part : valueOf(part.placeholder, part.arg, ctx);
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
