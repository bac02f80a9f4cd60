/**
 * A snapshot as the worker holds it: every part read on first use, the route index too. Built from a
 * stored head (layout 2, worker/model/snapshot-layout.ts), or from a whole `Snapshot` in memory (layout 1, tests).
 */
import * as v from 'valibot';
import { type AuthzData, type CompiledBinding, type CompiledRole, subjectIndex } from '../model/authz';
import { type APIServiceRoute, type BundleAsset, type ResourceReport, type ReverseProxyRoute, type Snapshot, SNAPSHOT_SCHEMA_VERSION } from '../model/snapshot';
import { AUTHZ_PARTS, type IndexedMatcher, indexOrder, routeIndex, SNAPSHOT_LAYOUT, SnapshotHeader } from '../model/snapshot-layout';
import { type ChunkSource, deferCheck, LazyList, LazyRecord, loaded, SnapshotPartError, verifiedJson } from './lazy-part';

export interface AuthzParts {
  roles: LazyList<CompiledRole>;
  globalRoleBindings: LazyList<CompiledBinding>;
  globalRoleBindingSubjects: LazyRecord<number[]>;
  clusterRoleBindings: LazyList<CompiledBinding>;
  clusterRoleBindingSubjects: LazyRecord<number[]>;
  workspaceRoleBindings: LazyRecord<CompiledBinding[]>;
  roleBindings: LazyRecord<CompiledBinding[]>;
  namespaceWorkspaces: LazyRecord<string>;
  users: LazyRecord<string>;
}

export interface SnapshotParts {
  schemaVersion: number;
  cluster: string;
  /** Route key (a path's first two segments) → the matchers under it. */
  routeIndex: LazyRecord<IndexedMatcher[]>;
  /** `group/version` → position in `apiServices`. */
  apiServiceIndex: LazyRecord<number>;
  /** In index order (by name). */
  reverseProxies: LazyList<ReverseProxyRoute>;
  apiServices: LazyList<APIServiceRoute>;
  /** By link. */
  bundles: LazyRecord<BundleAsset>;
  resources: LazyList<ResourceReport>;
  authz: AuthzParts | undefined;
}

export function partsOf(s: Snapshot): SnapshotParts {
  const routes = indexOrder(s);
  const index = routeIndex(routes);
  return {
    schemaVersion: s.schemaVersion,
    cluster: s.cluster,
    routeIndex: LazyRecord.of(index.routes),
    apiServiceIndex: LazyRecord.of(index.apiServices),
    reverseProxies: LazyList.of(routes.reverseProxies),
    apiServices: LazyList.of(routes.apiServices),
    bundles: LazyRecord.of(s.bundles.map((b) => [b.link, b])),
    resources: LazyList.of(s.resources),
    authz: s.authz && authzPartsOf(s.authz),
  };
}

export function authzPartsOf(a: AuthzData): AuthzParts {
  return {
    roles: LazyList.of(a.roles),
    globalRoleBindings: LazyList.of(a.globalRoleBindings),
    globalRoleBindingSubjects: LazyRecord.of(subjectIndex(a.globalRoleBindings)),
    clusterRoleBindings: LazyList.of(a.clusterRoleBindings),
    clusterRoleBindingSubjects: LazyRecord.of(subjectIndex(a.clusterRoleBindings)),
    workspaceRoleBindings: LazyRecord.of(Object.entries(a.workspaceRoleBindings)),
    roleBindings: LazyRecord.of(Object.entries(a.roleBindings)),
    namespaceWorkspaces: LazyRecord.of(Object.entries(a.namespaceWorkspaces)),
    users: LazyRecord.of(Object.entries(a.users)),
  };
}

const HEAD_START = new TextEncoder().encode(`{"layout":${SNAPSHOT_LAYOUT},`);

/** Whether stored snapshot bytes are a layout-2 head (else the whole layout-1 JSON document). */
export function isHead(bytes: Uint8Array): boolean {
  return HEAD_START.every((b, i) => bytes[i] === b);
}

export interface StoredHead { header: SnapshotHeader; tail: Uint8Array }

/**
 * A head's header line, checked against the hash the pointer names and against its schema — on a cold isolate
 * (`invalid` given) that schema check runs after the first answer, and a failure is told to `invalid`.
 */
export async function readHead(bytes: Uint8Array, hash: string, invalid?: (e: SnapshotPartError) => void): Promise<StoredHead> {
  const nl = bytes.indexOf(10);
  const json = await verifiedJson(bytes.subarray(0, nl < 0 ? bytes.length : nl), hash, `snapshot ${hash}`);
  const check = () => {
    const parsed = v.safeParse(SnapshotHeader, json);
    if (parsed.success) return;
    const first = parsed.issues[0];
    throw new SnapshotPartError(`snapshot ${hash} is invalid: header ${v.getDotPath(first) ?? ''} ${first.message}`);
  };
  const h = json as Partial<SnapshotHeader> | null;
  if (typeof h !== 'object' || h === null || typeof h.parts !== 'object' || h.parts === null) throw new Error(`snapshot ${hash} is invalid: its header has no parts`);
  if (invalid) deferCheck(check, invalid);
  else check();
  const header = json as SnapshotHeader;
  const problem = headerProblem(header);
  if (problem) throw new Error(`snapshot ${hash} is invalid: ${problem}`);
  return { header, tail: bytes.subarray(nl < 0 ? bytes.length : nl + 1) };
}

function headerProblem(h: SnapshotHeader): string | undefined {
  if (h.schemaVersion !== SNAPSHOT_SCHEMA_VERSION) return `schemaVersion ${h.schemaVersion} is not ${SNAPSHOT_SCHEMA_VERSION}`;
  for (const name of ['routeIndex', 'apiServiceIndex', 'reverseProxies', 'apiServices', 'bundles', 'resources'] as const) if (!h.parts[name]) return `part ${name} is missing`;
  const authz = AUTHZ_PARTS.filter((n) => h.parts[n]).length;
  if (authz !== 0 && authz !== AUTHZ_PARTS.length) return 'authorization parts are incomplete';
  return undefined;
}

export function storedParts({ header, tail }: StoredHead, src: Omit<ChunkSource, 'head'>): SnapshotParts {
  const source: ChunkSource = { ...src, head: tail };
  const p = header.parts;
  const list = <T>(name: keyof typeof p) => LazyList.stored<T>(source, name, p[name]!);
  const record = <T>(name: keyof typeof p) => LazyRecord.stored<T>(source, name, p[name]!);
  return {
    schemaVersion: header.schemaVersion,
    cluster: header.cluster,
    routeIndex: record('routeIndex'),
    apiServiceIndex: record('apiServiceIndex'),
    reverseProxies: list('reverseProxies'),
    apiServices: list('apiServices'),
    bundles: record('bundles'),
    resources: list('resources'),
    authz: p.users
      ? {
          roles: list('roles'), globalRoleBindings: list('globalRoleBindings'), clusterRoleBindings: list('clusterRoleBindings'),
          globalRoleBindingSubjects: record('globalRoleBindingSubjects'), clusterRoleBindingSubjects: record('clusterRoleBindingSubjects'),
          workspaceRoleBindings: record('workspaceRoleBindings'), roleBindings: record('roleBindings'),
          namespaceWorkspaces: record('namespaceWorkspaces'), users: record('users'),
        }
      : undefined,
  };
}

/** The whole snapshot, every chunk read and checked (the status page, a warm isolate's check before it swaps). */
export function materialize(p: SnapshotParts): Promise<Snapshot> {
  return loaded(() => {
    const a = p.authz;
    // The indexes are not part of a Snapshot, but they are read here too, so a warm check covers every chunk.
    p.routeIndex.entries();
    p.apiServiceIndex.entries();
    a?.globalRoleBindingSubjects.entries();
    a?.clusterRoleBindingSubjects.entries();
    const s: Snapshot = {
      schemaVersion: p.schemaVersion as Snapshot['schemaVersion'],
      cluster: p.cluster,
      apiServices: p.apiServices.all(),
      reverseProxies: p.reverseProxies.all(),
      bundles: p.bundles.entries().map(([, b]) => b),
      resources: p.resources.all(),
    };
    if (a) {
      s.authz = {
        roles: a.roles.all(), globalRoleBindings: a.globalRoleBindings.all(), clusterRoleBindings: a.clusterRoleBindings.all(),
        workspaceRoleBindings: Object.fromEntries(a.workspaceRoleBindings.entries()), roleBindings: Object.fromEntries(a.roleBindings.entries()),
        namespaceWorkspaces: Object.fromEntries(a.namespaceWorkspaces.entries()), users: Object.fromEntries(a.users.entries()),
      };
    }
    return s;
  });
}
