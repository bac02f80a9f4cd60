/**
 * Bindings indexed by subject, built once per snapshot: a request visits only the bindings that name its user or
 * one of its groups, in KubeSphere's visiting order, instead of every binding of the cluster as ks-apiserver does.
 */
import type { CompiledBinding } from '../model/authz';

const NONE: readonly number[] = [];

export class BindingList {
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
