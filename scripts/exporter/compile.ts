/**
 * Compiles validated resources into the routing Snapshot. Pure: bundle bytes were resolved and hashed before.
 * Every resource gets a report (kind, name, state, routes, problems, warnings). A resource with problems still
 * claims what it can be seen to claim, answering 503 with the reason, so it never falls through to another route.
 */
import { createHash } from 'node:crypto';
import { parsePolicy } from '../../worker/model/annotations';
import type { APIService, JSBundle, ReverseProxy } from '../../worker/model/resources';
import {
  SNAPSHOT_SCHEMA_VERSION, type APIServiceRoute, type BundleAsset, type CompiledDirectives, type Policy,
  type ResourceReport, type ReverseProxyRoute, type RouteMatcher, type Snapshot,
} from '../../worker/model/snapshot';
import { compileDirectives, DirectiveError, parseMethod } from '../../worker/directives/parse';
import { redactCredentials } from '../../worker/redact';
import type { AuthzCompileResult } from './authz/compile';
import { mainLink } from './bundle-sources';
import { edgeTlsWarnings, resolveEndpoint } from './endpoint';
import { pathClaimProblem } from './path-claims';

export const CONSOLE_TARGET_LABEL = 'kubesphere.io/reverse-proxy-target';

/** One extension resource as the exporter saw it: validated (`value`) or not (`problems` from validation). */
export type Candidate =
  | { kind: 'APIService'; name: string; raw: Record<string, unknown>; value?: APIService; problems: string[]; warnings: string[] }
  | { kind: 'JSBundle'; name: string; raw: Record<string, unknown>; value?: JSBundle; problems: string[]; warnings: string[] }
  | { kind: 'ReverseProxy'; name: string; raw: Record<string, unknown>; value?: ReverseProxy; problems: string[]; warnings: string[] };

/** A bundle asset with its bytes hashed (or an error when no bytes exist). */
export interface HashedAsset { link: string; contentType: string; hash?: string; size?: number; error?: string }

export interface CompileInput {
  cluster: string;
  candidates: Candidate[];
  /** Resolved assets by JSBundle name (only for valid, Available bundles). */
  assets: Map<string, HashedAsset[]>;
  /** Failed health checks by `Kind/name`: those routes answer 503 with the reason. */
  unhealthy?: Map<string, string>;
  /** Compiled IAM data (scripts/exporter/authz/compile.ts); absent when the source has none. */
  authz?: AuthzCompileResult;
}

const AVAILABLE = 'Available';
/** The states KubeSphere's extensions API defines (extensions/v1alpha1 constants); InstallPlans set Available or Disabled. */
export const KUBESPHERE_STATES = ['Available', 'Disabled', 'Enabled', 'Unavailable'];
const EMPTY_DIRECTIVES: CompiledDirectives = compileDirectives(undefined);
const stateOf = (raw: Record<string, unknown>) => {
  const s = (raw.status as { state?: unknown } | undefined)?.state;
  return typeof s === 'string' ? s : 'Unknown';
};

export function compileSnapshot(input: CompileInput): Snapshot {
  const sorted = [...input.candidates].sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : a.kind + a.name > b.kind + b.name ? 1 : 0));
  const apiServices: APIServiceRoute[] = [];
  const reverseProxies: ReverseProxyRoute[] = [];
  const bundles: BundleAsset[] = [];
  const resources: ResourceReport[] = [];
  const groupVersions = new Map<string, string>();
  const links = new Map<string, string>();
  const matcherOwners = new Map<string, string>();

  const sick = (c: Candidate, report: ResourceReport) => {
    const reason = input.unhealthy?.get(`${c.kind}/${c.name}`);
    if (reason) report.warnings.push(`unhealthy: ${reason}`);
    return reason && `${lowerKind(c.kind)} ${c.name} is unhealthy: ${reason}`;
  };
  for (const c of sorted) {
    const report: ResourceReport = { kind: c.kind, name: c.name, state: stateOf(c.raw), routes: [], problems: [...c.problems], warnings: [...c.warnings] };
    resources.push(report);
    if (report.state !== 'Unknown' && !KUBESPHERE_STATES.includes(report.state)) {
      report.warnings.push(`status.state ${JSON.stringify(report.state)} is not a state KubeSphere sets (${KUBESPHERE_STATES.join(', ')}); only "Available" is routed`);
    }
    const { policy, claimPath } = policyOf(c.raw, report);
    const available = report.state === AVAILABLE;
    const invalid = () => `${lowerKind(c.kind)} ${c.name} is invalid: ${report.problems.join('; ')}`;
    const notAvailable = `${lowerKind(c.kind)} ${c.name} is not available`;

    if (c.kind === 'APIService') {
      const spec = (c.value?.spec ?? c.raw.spec) as { group?: unknown; version?: unknown } | undefined;
      if (typeof spec?.group !== 'string' || typeof spec.version !== 'string' || !spec.group || !spec.version) continue;
      const key = `${spec.group}/${spec.version}`;
      const owner = groupVersions.get(key);
      if (owner) {
        report.problems.push(`${key} is already claimed by apiService ${owner}`);
        continue;
      }
      groupVersions.set(key, c.name);
      let upstream;
      if (c.value) {
        try {
          const ep = resolveEndpoint(c.value.spec, 'spec');
          upstream = ep.upstream;
          report.warnings.push(...ep.warnings, ...edgeTlsWarnings(c.value.spec, 'spec'));
        } catch (e) {
          report.problems.push((e as Error).message);
        }
      }
      report.routes.push(`/kapis/${key}/*`);
      const ok = report.problems.length === 0;
      apiServices.push(versioned({
        name: c.name, group: spec.group, version: spec.version, policy, upstream: ok ? upstream : undefined,
        ...availability(ok, available, invalid, notAvailable, sick(c, report)),
      }));
      continue;
    }

    if (c.kind === 'ReverseProxy') {
      const labels = (c.raw.metadata as { labels?: Record<string, unknown> } | undefined)?.labels;
      if (labels?.[CONSOLE_TARGET_LABEL] === 'ks-console') {
        report.warnings.push(`labelled ${CONSOLE_TARGET_LABEL}: ks-console, so it is left to the console and not routed at the edge`);
        continue;
      }
      const matchers = matchersOf(c.value?.spec.matcher ?? (c.raw.spec as { matcher?: unknown } | undefined)?.matcher, report, claimPath);
      if (matchers.length === 0) continue;
      let directives = EMPTY_DIRECTIVES;
      let upstream;
      if (c.value) {
        try {
          directives = compileDirectives(c.value.spec.directives);
        } catch (e) {
          if (!(e instanceof DirectiveError)) throw e;
          report.problems.push(e.message);
        }
        try {
          const ep = resolveEndpoint(c.value.spec.upstream, 'spec.upstream');
          upstream = ep.upstream;
          report.warnings.push(...ep.warnings, ...edgeTlsWarnings(c.value.spec.upstream, 'spec.upstream'));
        } catch (e) {
          report.problems.push((e as Error).message);
        }
      }
      for (const m of matchers) {
        const key = `${m.method} ${m.path}`;
        report.routes.push(key);
        const owner = matcherOwners.get(key);
        if (owner) report.warnings.push(`matcher ${key} is also claimed by reverseProxy ${owner}, which wins by name`);
        else matcherOwners.set(key, c.name);
      }
      const ok = report.problems.length === 0;
      reverseProxies.push(versioned({
        name: c.name, matchers, directives: ok ? directives : EMPTY_DIRECTIVES, policy, upstream: ok ? upstream : undefined,
        ...availability(ok, available, invalid, notAvailable, sick(c, report)),
      }));
      continue;
    }

    // JSBundle: only Available bundles are served; the others leave their links to the next dispatch step.
    if (!available) continue;
    const assets: HashedAsset[] = c.value
      ? input.assets.get(c.name) ?? []
      : linkOfInvalid(c.raw).map((link) => ({ link, contentType: 'application/javascript; charset=utf-8', error: invalid() }));
    for (const a of assets) {
      const owner = links.get(a.link);
      if (owner) {
        report.problems.push(`link ${a.link} is already served by jsBundle ${owner}`);
        continue;
      }
      links.set(a.link, c.name);
      report.routes.push(a.link);
      if (a.error && c.value) report.problems.push(`${a.link}: ${a.error}`);
      bundles.push({ bundle: c.name, link: a.link, contentType: a.contentType, hash: a.hash, size: a.size, error: a.error });
    }
  }
  const snapshot: Snapshot = { schemaVersion: SNAPSHOT_SCHEMA_VERSION, cluster: input.cluster, apiServices, reverseProxies, bundles, resources };
  if (input.authz) {
    snapshot.authz = input.authz.data;
    resources.push(...input.authz.reports);
  }
  return withoutCredentials(snapshot);
}

/**
 * Reasons and reports end up in the exporter's log, the snapshot, the status page and anonymous 503 bodies: a URL's
 * user-info and query (a bundle source's password or token) are redacted from every one of them.
 */
function withoutCredentials(s: Snapshot): Snapshot {
  for (const r of s.resources) {
    r.problems = r.problems.map(redactCredentials);
    r.warnings = r.warnings.map(redactCredentials);
  }
  for (const route of [...s.apiServices, ...s.reverseProxies]) if (route.unavailable) route.unavailable = redactCredentials(route.unavailable);
  for (const b of s.bundles) if (b.error) b.error = redactCredentials(b.error);
  return s;
}

/** Invalid beats not Available beats unhealthy: the reason a 503 names. */
function availability(ok: boolean, available: boolean, invalid: () => string, notAvailable: string, unhealthy: string | undefined) {
  if (!ok) return { available: false, unavailable: invalid() };
  if (!available) return { available: false, unavailable: notAvailable };
  if (unhealthy) return { available: false, unavailable: unhealthy };
  return { available: true, unavailable: undefined };
}

/**
 * A cached route carries its own version, a digest of everything compiled for it (upstream, directives, policy):
 * the edge's cache key holds it, so an answer cached under an old manifest is never served under a new one.
 */
function versioned<T extends { policy: Policy }>(route: T): T {
  if (!route.policy.cache) return route;
  const digest = createHash('sha256').update(JSON.stringify({ ...route, policy: { ...route.policy, cache: { ...route.policy.cache, version: '' } } })).digest('hex');
  route.policy.cache.version = digest.slice(0, 16);
  return route;
}

const lowerKind = (k: Candidate['kind']) => (k === 'APIService' ? 'apiService' : k === 'JSBundle' ? 'jsBundle' : 'reverseProxy');

function policyOf(raw: Record<string, unknown>, report: ResourceReport): { policy: Policy; claimPath: boolean } {
  const annotations = (raw.metadata as { annotations?: unknown } | undefined)?.annotations;
  const parsed = parsePolicy(isStringMap(annotations) ? annotations : undefined);
  report.problems.push(...parsed.problems);
  report.warnings.push(...parsed.warnings);
  return { policy: parsed.policy, claimPath: parsed.claimPath };
}

const isStringMap = (x: unknown): x is Record<string, string> =>
  typeof x === 'object' && x !== null && Object.values(x).every((v) => typeof v === 'string');

/**
 * Matchers from a valid or raw spec. A path the resource may not claim (SPEC §2.3) makes it invalid, and it then
 * claims nothing at all: a reserved path must never answer 503 in the console's place.
 */
function matchersOf(matcher: unknown, report: ResourceReport, claimPath: boolean): RouteMatcher[] {
  const list = Array.isArray(matcher) ? matcher : matcher ? [matcher] : [];
  const out: RouteMatcher[] = [];
  let refused = false;
  for (const m of list as { path?: unknown; method?: unknown }[]) {
    if (typeof m?.path !== 'string') continue;
    const path = m.path;
    if (!path.startsWith('/')) {
      report.problems.push(`matcher path ${JSON.stringify(path)} must start with "/"`);
      continue;
    }
    if (path.slice(0, -1).includes('*') || /[?#\s]/.test(path)) {
      report.problems.push(`matcher path ${JSON.stringify(path)}: "*" may only end a path, and "?", "#" or spaces are not allowed`);
      continue;
    }
    const unclaimable = pathClaimProblem(path, claimPath);
    if (unclaimable) {
      report.problems.push(unclaimable);
      refused = true;
      continue;
    }
    let method = '*';
    if (typeof m.method === 'string' && m.method !== '' && m.method !== '*') {
      try {
        method = parseMethod(m.method);
      } catch (e) {
        report.problems.push(`matcher method ${JSON.stringify(m.method)} is not an HTTP method`);
        continue;
      }
    }
    out.push({ path, method });
  }
  return refused ? [] : out;
}

function linkOfInvalid(raw: Record<string, unknown>): string[] {
  try {
    return [mainLink(raw as unknown as JSBundle)];
  } catch {
    return [];
  }
}
