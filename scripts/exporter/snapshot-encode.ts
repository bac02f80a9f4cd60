/**
 * Writes a compiled `Snapshot` in the stored layout (worker/model/snapshot-layout.ts): every part cut into chunks
 * of about CHUNK_BYTES, each with its SHA-256 in the header. The route index and the bundle links ride in the head,
 * so a cold isolate matches, and serves `/dist`, once the small head is read; route details come from the body. The same snapshot always gives the
 * same bytes and hash, so a re-export writes nothing.
 */
import { createHash } from 'node:crypto';
import { subjectIndex } from '../../worker/model/authz';
import type { Snapshot } from '../../worker/model/snapshot';
import {
  type Chunk, CHUNK_BYTES, indexOrder, keyedEntries, type Part, type PartName, routeIndex, SNAPSHOT_LAYOUT, type SnapshotHeader,
} from '../../worker/model/snapshot-layout';

export interface EncodedSnapshot {
  /** The pointer's `snapshot` and the KV keys' suffix: the SHA-256 of the header line. */
  hash: string;
  head: Buffer;
  body: Buffer;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

class Area {
  readonly buffers: Buffer[] = [];
  size = 0;

  /** Cuts items (already JSON) into chunks; `firstOf` names a chunk by its first item. */
  part(where: Part['in'], items: string[], firstOf: (i: number) => number | string): Part {
    const chunks: Chunk[] = [];
    for (let i = 0; i < items.length;) {
      const start = i;
      let bytes = 2;
      const batch: string[] = [];
      do {
        batch.push(items[i]!);
        bytes += items[i]!.length + 1;
        i++;
      } while (i < items.length && bytes < CHUNK_BYTES);
      const buf = Buffer.from(`[${batch.join(',')}]`);
      chunks.push({ at: this.size, size: buf.length, sha256: sha256(buf), first: firstOf(start) });
      this.buffers.push(buf);
      this.size += buf.length;
    }
    return { in: where, count: items.length, chunks };
  }
}

export function encodeSnapshot(s: Snapshot): EncodedSnapshot {
  const routes = indexOrder(s);
  const head = new Area();
  const body = new Area();
  const parts: SnapshotHeader['parts'] = {};
  const list = (area: Area, name: PartName, items: unknown[]) => {
    parts[name] = area.part(area === head ? 'head' : 'body', items.map((x) => JSON.stringify(x)), (i) => i);
  };
  const keyed = (area: Area, name: PartName, entries: Iterable<[string, unknown]>) => {
    const sorted = keyedEntries(entries);
    parts[name] = area.part(area === head ? 'head' : 'body', sorted.map((e) => JSON.stringify(e)), (i) => sorted[i]![0]);
  };
  const index = routeIndex(routes);
  keyed(head, 'routeIndex', index.routes);
  keyed(head, 'apiServiceIndex', index.apiServices);
  keyed(head, 'bundles', s.bundles.map((b) => [b.link, b]));
  list(body, 'reverseProxies', routes.reverseProxies);
  list(body, 'apiServices', routes.apiServices);
  list(body, 'resources', s.resources);
  if (s.authz) {
    const a = s.authz;
    keyed(body, 'users', Object.entries(a.users));
    keyed(body, 'globalRoleBindingSubjects', subjectIndex(a.globalRoleBindings));
    list(body, 'globalRoleBindings', a.globalRoleBindings);
    keyed(body, 'clusterRoleBindingSubjects', subjectIndex(a.clusterRoleBindings));
    list(body, 'clusterRoleBindings', a.clusterRoleBindings);
    keyed(body, 'namespaceWorkspaces', Object.entries(a.namespaceWorkspaces));
    keyed(body, 'workspaceRoleBindings', Object.entries(a.workspaceRoleBindings));
    keyed(body, 'roleBindings', Object.entries(a.roleBindings));
    list(body, 'roles', a.roles);
  }
  // `layout` first: the worker tells a head from a layout-1 document by its first bytes.
  const header: SnapshotHeader = { layout: SNAPSHOT_LAYOUT, schemaVersion: s.schemaVersion, cluster: s.cluster, parts };
  const line = Buffer.from(JSON.stringify(header));
  return { hash: sha256(line), head: Buffer.concat([line, Buffer.from('\n'), ...head.buffers]), body: Buffer.concat(body.buffers) };
}
