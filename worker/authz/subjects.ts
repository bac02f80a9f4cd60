/**
 * Bindings indexed by subject, built once per snapshot: a request visits only the bindings that name its user or
 * one of its groups, in KubeSphere's visiting order, instead of every binding of the cluster as ks-apiserver does.
 */
import type { CompiledBinding } from '../model/authz';

export class BindingList {
  private readonly byUser = new Map<string, number[]>();
  private readonly byGroup = new Map<string, number[]>();

  constructor(readonly bindings: readonly CompiledBinding[]) {
    bindings.forEach((b, i) => {
      for (const u of b.users ?? []) push(this.byUser, u, i);
      for (const g of b.groups ?? []) push(this.byGroup, g, i);
    });
  }

  /** The bindings whose subjects match the user, in list order. */
  matching(user: string, groups: readonly string[]): CompiledBinding[] {
    const lists: number[][] = [];
    const own = this.byUser.get(user);
    if (own) lists.push(own);
    for (const g of groups) {
      const l = this.byGroup.get(g);
      if (l) lists.push(l);
    }
    if (lists.length === 0) return [];
    if (lists.length === 1) return lists[0]!.map((i) => this.bindings[i]!);
    const positions = [...new Set(lists.flat())].sort((a, b) => a - b);
    return positions.map((i) => this.bindings[i]!);
  }
}

function push(map: Map<string, number[]>, key: string, i: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [i]);
  else if (list[list.length - 1] !== i) list.push(i);
}
