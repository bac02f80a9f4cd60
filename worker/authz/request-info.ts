/**
 * ks-apiserver's RequestInfo resolution (kubesphere pkg/apiserver/request/requestinfo.go), which decides what a
 * request is for authorization: a resource request under /kapis, /apis, /api, /kapi with verb, group, resource,
 * subresource, name and scope, or a non-resource request whose verb is the raw HTTP method. It works on the
 * decoded path, as Go's `req.URL.Path` is.
 *
 * Two readings (`Reading`): the edge's own, and KubeSphere's where its rules give a request a second meaning — a
 * watch with `labelSelector=kubesphere.io/workspace=<ws>` is also a workspace request for `<ws>` (L296-304), and
 * of several `metadata.name` field terms the first names the object (apimachinery's `RequiresExactMatch`), where
 * the edge names none. Authorization allows only what both readings allow (authz/guard.ts): each can narrow.
 */
export type Scope = 'Global' | 'Cluster' | 'Workspace' | 'Namespace' | '';

export interface RequestInfo {
  isResourceRequest: boolean;
  isKubernetesRequest: boolean;
  path: string;
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  workspace: string;
  cluster: string;
  resource: string;
  subresource: string;
  name: string;
  scope: Scope;
}

/** `edge`: the reading the edge forwards by; `kubesphere`: KubeSphere's, with the quirks above. */
export type Reading = 'edge' | 'kubesphere';

const WORKSPACE_SELECTOR = 'kubesphere.io/workspace=';

/** RequestInfo could not be built (`…/v1/watch`, `…/v1/proxy`): ks-apiserver answers 500. */
export class RequestInfoError extends Error {}

const API_PREFIXES = new Set(['api', 'apis', 'kapis', 'kapi']);
const GROUPLESS = new Set(['api', 'kapi']);
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const GLOBAL_RESOURCES = new Set([
  'iam.kubesphere.io/users', 'iam.kubesphere.io/globalroles', 'iam.kubesphere.io/globalrolebindings',
  'tenant.kubesphere.io/workspaces', 'tenant.kubesphere.io/clusters', 'cluster.kubesphere.io/clusters',
  'cluster.kubesphere.io/labels', 'resources.kubesphere.io/clusters', 'resources.kubesphere.io/labels',
]);
const VERB_OF_METHOD: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * Every reading of a request that authorization must allow: the edge's, and KubeSphere's when it differs.
 * `path` is decoded; `search` is the raw query with or without its `?`.
 */
export function requestReadings(method: string, path: string, search: string): RequestInfo[] {
  const edge = requestInfo(method, path, search, 'edge');
  if (!edge.isResourceRequest || search === '' || search === '?') return [edge];
  const ks = requestInfo(method, path, search, 'kubesphere');
  return ks.name === edge.name && ks.workspace === edge.workspace && ks.scope === edge.scope ? [edge] : [edge, ks];
}

/** `path` is decoded; `search` is the raw query with or without its `?`. */
export function requestInfo(method: string, path: string, search: string, reading: Reading = 'edge'): RequestInfo {
  const info: RequestInfo = {
    isResourceRequest: false, isKubernetesRequest: false, path, verb: method, apiPrefix: '', apiGroup: '', apiVersion: '',
    namespace: '', workspace: '', cluster: '', resource: '', subresource: '', name: '', scope: '',
  };
  const trimmed = trimSlashes(path);
  let parts = trimmed === '' ? [] : trimmed.split('/');
  if (parts.length < 3) return withKubernetesFlag(info, parts);
  if (parts[0] === 'clusters') {
    info.cluster = parts[1]!;
    info.path = path.startsWith(`/clusters/${info.cluster}`) ? path.slice(`/clusters/${info.cluster}`.length) : path;
    parts = parts.slice(2);
  }
  if (!API_PREFIXES.has(parts[0] ?? '')) return withKubernetesFlag(info, info.cluster === '' ? parts : undefined);
  info.apiPrefix = parts[0]!;
  parts = parts.slice(1);
  if (info.cluster === '' && parts[0] === 'clusters') {
    info.cluster = parts[1] ?? '';
    info.path = info.path.replace(`/clusters/${info.cluster}`, '');
    if (parts.length > 2) parts = parts.slice(2);
  }
  if (!GROUPLESS.has(info.apiPrefix)) {
    if (parts.length < 3) return withKubernetesFlag(info);
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0] ?? '';
  parts = parts.slice(1);
  if (parts.length > 0 && SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) throw new RequestInfoError(`unable to determine kind and namespace from url: ${path}`);
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    info.verb = VERB_OF_METHOD[method] ?? '';
  }
  if (parts[0] === 'workspaces' || parts[0] === 'workspacetemplates') {
    if (parts.length > 1) info.workspace = parts[1]!;
    if (parts.length > 2) parts = parts.slice(2);
  }
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1]!;
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
  }
  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;
  info.scope = scopeOf(info);
  if (info.name === '' && info.verb === 'get') listOrWatch(info, search, reading);
  if (reading === 'kubesphere' && info.verb === 'watch') workspaceSelector(info, search);
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return withKubernetesFlag(info);
}

/**
 * ks-apiserver's deferred rule: the API prefix, or the first segment of a (cluster-stripped) path of one or two
 * segments. `parts` are that path's segments when the caller has them at hand.
 */
function withKubernetesFlag(info: RequestInfo, parts?: readonly string[]): RequestInfo {
  let prefix = info.apiPrefix;
  if (prefix === '') {
    const p = parts ?? (trimSlashes(info.path) === '' ? [] : trimSlashes(info.path).split('/'));
    if (p.length > 0 && p.length < 3) prefix = p[0]!;
  }
  info.isKubernetesRequest = prefix === 'api' || prefix === 'apis';
  return info;
}

function scopeOf(info: RequestInfo): Scope {
  if (GLOBAL_RESOURCES.has(`${info.apiGroup}/${info.resource}`)) return info.workspace !== '' ? 'Workspace' : 'Global';
  if (info.namespace !== '') return 'Namespace';
  if (info.workspace !== '') return 'Workspace';
  return 'Cluster';
}

/**
 * KubeSphere's watch form `…?labelSelector=kubesphere.io/workspace=<ws>`: the first labelSelector value (Go's
 * `Query().Get`) makes the request Workspace-scoped for the rest of the selector, whatever its path says.
 */
function workspaceSelector(info: RequestInfo, search: string): void {
  const selector = parseQuery(search).get('labelSelector')?.[0];
  if (selector === undefined || !selector.startsWith(WORKSPACE_SELECTOR)) return;
  info.workspace = selector.slice(WORKSPACE_SELECTOR.length);
  info.scope = 'Workspace';
}

/** A GET without a name is a list, or a watch; `fieldSelector=metadata.name=X` names the object. */
function listOrWatch(info: RequestInfo, search: string, reading: Reading): void {
  if (search === '' || search === '?') {
    info.verb = 'list';
    return;
  }
  const query = parseQuery(search);
  const watch = query.get('watch')?.[0];
  const decodes = listOptionsDecode(query);
  // Decoded, the flag is Convert_Slice_string_To_bool: strings.EqualFold with "false", where ſ (U+017F) folds to
  // s (the only letter outside ASCII that reaches one of "false"). Not decoded, ks-apiserver falls back to
  // strings.ToLower(v) == "false", where ſ stays ſ: `falſe` is then a watch.
  const folded = watch === undefined ? undefined : decodes ? watch.replace(/ſ/g, 's').toLowerCase() : goLower(watch);
  info.verb = watch !== undefined && watch !== '0' && folded !== 'false' ? 'watch' : 'list';
  if (!decodes) return;
  const selector = query.get('fieldSelector')?.[0];
  const name = selector === undefined ? undefined : exactName(selector, reading);
  if (name !== undefined && isValidPathSegmentName(name)) info.name = name;
}

/** Go's strings.ToLower for what can spell "false": ASCII letters only change (ſ and K's look-alikes do not reach it). */
const goLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Go's url.ParseQuery: `&`-separated pairs; a pair that fails to unescape is dropped. */
function parseQuery(search: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

function queryUnescape(s: string): string | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return undefined;
  return decodeBytes(s.replace(/\+/g, ' '));
}

/**
 * Whether metav1.ListOptions decodes from this query. When it does not, ks-apiserver keeps only the watch flag
 * and names no object. Checked: the selectors' syntax (apimachinery's, with its length limits) and the integer
 * fields' int64 range. Written without backtracking regular expressions: a query must never stall the isolate.
 */
function listOptionsDecode(query: Map<string, string[]>): boolean {
  for (const key of ['limit', 'timeoutSeconds']) {
    const v = query.get(key)?.[0];
    if (v !== undefined && !isInt64(v)) return false;
  }
  const label = query.get('labelSelector')?.[0];
  if (label !== undefined && !labelSelectorParses(label)) return false;
  const field = query.get('fieldSelector')?.[0];
  if (field !== undefined && fieldTerms(field) === undefined) return false;
  return true;
}

function isInt64(v: string): boolean {
  if (!/^[+-]?\d{1,20}$/.test(v)) return false;
  const n = BigInt(v.replace(/^\+/, ''));
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

const MAX_SELECTOR = 4096;
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A label key: `[prefix/]name`, prefix a DNS subdomain (≤ 253), name ≤ 63. */
function isLabelKey(k: string): boolean {
  const slash = k.indexOf('/');
  if (slash < 0) return NAME.test(k);
  return slash <= 253 && DNS_SUBDOMAIN.test(k.slice(0, slash)) && NAME.test(k.slice(slash + 1));
}

const isLabelValue = (v: string) => v === '' || NAME.test(v);

/** apimachinery's label-selector lexer knows four white-space characters, not JavaScript's many. */
const goTrim = (s: string) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

function labelSelectorParses(selector: string): boolean {
  if (selector.length > MAX_SELECTOR) return false;
  if (goTrim(selector) === '') return true;
  for (const raw of splitTerms(selector)) {
    const term = goTrim(raw);
    if (term.startsWith('!')) {
      if (!isLabelKey(goTrim(term.slice(1)))) return false;
      continue;
    }
    const set = /^([^ \t\r\n]+)[ \t\r\n]+(in|notin)[ \t\r\n]*\((.*)\)$/.exec(term);
    if (set) {
      if (!isLabelKey(set[1]!) || !set[3]!.split(',').every((v) => isLabelValue(goTrim(v)))) return false;
      continue;
    }
    const op = ['==', '!=', '=', '<', '>'].map((o) => ({ o, at: term.indexOf(o) })).filter((x) => x.at > 0).sort((a, b) => a.at - b.at)[0];
    if (!op) {
      if (!isLabelKey(term)) return false;
      continue;
    }
    const key = goTrim(term.slice(0, op.at));
    const value = goTrim(term.slice(op.at + op.o.length));
    if (!isLabelKey(key)) return false;
    // `<` and `>` take what strconv.ParseInt(v, 10, 64) reads.
    if ((op.o === '<' || op.o === '>') ? !isInt64(value) : !isLabelValue(value)) return false;
  }
  return true;
}

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/**
 * A field selector's terms as apimachinery's `fields.ParseSelector` reads them: split at unescaped commas, each
 * `key=value`, `key==value` or `key!=value` (first operator wins), nothing trimmed, values unescaped (`\\,`,
 * `\\=`, `\\\\`); undefined when it does not parse.
 */
function fieldTerms(selector: string): { key: string; op: string; value: string }[] | undefined {
  if (selector === '') return [];
  if (selector.length > MAX_SELECTOR) return undefined;
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i]!;
    if (ch === '\\' && i + 1 < selector.length) {
      current += ch + selector[++i];
    } else if (ch === ',') {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  // apimachinery's parseSelector sorts the raw terms (Go compares bytes) and skips empty ones.
  terms.sort(byUtf8);
  const out = [];
  for (const term of terms) {
    if (term === '') continue;
    let at = -1;
    let op = '';
    for (let i = 0; i < term.length && at < 0; i++) {
      if (term[i] === '\\') { i++; continue; }
      for (const o of ['!=', '==', '=']) if (term.startsWith(o, i)) { at = i; op = o; break; }
    }
    if (at < 0) return undefined;
    const value = unescapeFieldValue(term.slice(at + op.length));
    if (value === undefined) return undefined;
    out.push({ key: term.slice(0, at), op, value });
  }
  return out;
}

function unescapeFieldValue(v: string): string | undefined {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    if (ch === '\\') {
      const next = v[++i];
      if (next !== '\\' && next !== ',' && next !== '=') return undefined;
      out += next;
    } else if (ch === ',' || ch === '=') return undefined;
    else out += ch;
  }
  return out;
}

/**
 * The object a field selector names exactly. Of several naming terms, KubeSphere takes the first in the parser's
 * sorted order; the edge's own reading names none (an upstream ANDs them, so neither reading alone says what is
 * read).
 */
function exactName(selector: string, reading: Reading): string | undefined {
  const named = (fieldTerms(selector) ?? []).filter((x) => x.key === 'metadata.name' && (x.op === '=' || x.op === '=='));
  return named.length === 1 || (reading === 'kubesphere' && named.length > 1) ? named[0]!.value : undefined;
}

const utf8 = new TextEncoder();
function byUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** apimachinery's IsValidPathSegmentName. */
function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** Go's strings.Trim(s, "/"). */
function trimSlashes(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) === 47) start++;
  while (end > start && s.charCodeAt(end - 1) === 47) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Percent-decodes into UTF-8 text, leaving malformed escapes as they are. */
export function decodeBytes(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else bytes.push(...new TextEncoder().encode(s[i]!));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
