/**
 * Bindings indexed by subject, built once per snapshot: a request visits only the bindings that name its user or
 * one of its groups, in KubeSphere's visiting order, instead of every binding of the cluster as ks-apiserver does.
 */
import { type CompiledBinding, groupSubject, userSubject } from '../model/authz';
import type { LazyList, LazyRecord } from '../snapshot/lazy-part';

const NONE: readonly number[] = [];

/** A binding list as a decision walks it: the positions that name the subject, and the binding at a position. */
export interface Bindings {
  matching(user: string, groups: readonly string[]): readonly number[];
  at(i: number): CompiledBinding | undefined;
  /** Loads the chunks of these positions at once (throws NotLoaded while they are read). */
  ensure(positions: readonly number[]): void;
}

/** A namespace's or workspace's bindings (a few): indexed in memory when first visited. */
export class BindingList implements Bindings {
  private readonly byUser = new Map<string, number[]>();
  private readonly byGroup = new Map<string, number[]>();

  constructor(readonly bindings: readonly CompiledBinding[]) {
    bindings.forEach((b, i) => {
      for (const u of b.users ?? []) push(this.byUser, u, i);
      for (const g of b.groups ?? []) push(this.byGroup, g, i);
    });
  }

  /** Positions of the bindings whose subjects match the user, in list order. */
  matching(user: string, groups: readonly string[]): readonly number[] {
    let found: readonly number[] = this.byUser.get(user) ?? NONE;
    for (const g of groups) {
      const l = this.byGroup.get(g);
      if (!l) continue;
      found = found.length === 0 ? l : mergeSorted(found, l);
    }
    return found;
  }

  at(i: number): CompiledBinding | undefined {
    return this.bindings[i];
  }

  ensure(): void {}
}

/**
 * A cluster-wide list (GlobalRoleBindings, ClusterRoleBindings: thousands) read through the subject index the
 * exporter wrote: a decision reads the index chunks of its user and groups and the chunks of their bindings.
 */
export class IndexedBindings implements Bindings {
  constructor(private readonly subjects: LazyRecord<number[]>, private readonly list: LazyList<CompiledBinding>) {}

  matching(user: string, groups: readonly string[]): readonly number[] {
    let found: readonly number[] = this.subjects.get(userSubject(user)) ?? NONE;
    for (const g of groups) {
      const l = this.subjects.get(groupSubject(g));
      if (!l) continue;
      found = found.length === 0 ? l : mergeSorted(found, l);
    }
    return found;
  }

  at(i: number): CompiledBinding | undefined {
    return this.list.at(i);
  }

  ensure(positions: readonly number[]): void {
    this.list.ensure(positions);
  }
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (out[out.length - 1] !== x) out.push(x);
  }
  return out;
}

function push(map: Map<string, number[]>, key: string, i: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [i]);
  else if (list[list.length - 1] !== i) list.push(i);
}
