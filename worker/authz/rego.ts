/**
 * Evaluates the Rego subset compiled by the exporter (`RegoProgram`) against ks-apiserver's authorization input:
 * `data.authz.allow` is true when the body of some `allow` rule holds. Bodies are conjunctions evaluated with
 * backtracking over `[_]` and assignments. A built-in given a value of the wrong type leaves its expression
 * undefined, as OPA's non-strict built-ins do.
 */
import type { RegoExpr, RegoProgram, RegoTerm } from '../model/authz';

export const REGO_BUILTINS = ['startswith', 'endswith', 'contains', 'trim_prefix', 'trim_suffix', 'lower', 'upper'];

type Env = ReadonlyMap<string, unknown>;

/** Values a term may take before evaluation gives up (and the policy does not allow). */
const MAX_VALUES = 1024;

class RegoBudget extends Error {}

export function regoAllows(program: RegoProgram, input: unknown): boolean {
  try {
    for (const body of program.allow) if (holds(body, 0, new Map(), input)) return true;
  } catch (e) {
    if (!(e instanceof RegoBudget)) throw e;
  }
  return false;
}

const bounded = <T>(xs: T[]): T[] => {
  if (xs.length > MAX_VALUES) throw new RegoBudget();
  return xs;
};

function holds(body: readonly RegoExpr[], at: number, env: Env, input: unknown): boolean {
  if (at === body.length) return true;
  const e = body[at]!;
  switch (e.op) {
    case 'assign':
      for (const value of values(e.value, env, input)) {
        if (holds(body, at + 1, new Map(env).set(e.name, value), input)) return true;
      }
      return false;
    case 'eq':
    case 'neq': {
      const rights = values(e.right, env, input);
      for (const l of values(e.left, env, input)) {
        for (const r of rights) if (equal(l, r) === (e.op === 'eq')) return holds(body, at + 1, env, input);
      }
      return false;
    }
    case 'test':
      for (const value of values(e.term, env, input)) if (value !== false) return holds(body, at + 1, env, input);
      return false;
  }
}

/** Every value a term can take (none: undefined). */
function values(term: RegoTerm, env: Env, input: unknown): unknown[] {
  switch (term.t) {
    case 'value': return [term.v];
    case 'array': {
      let out: unknown[][] = [[]];
      for (const item of term.items) {
        const vs = values(item, env, input);
        out = bounded(out.flatMap((prefix) => vs.map((v) => [...prefix, v])));
      }
      return out;
    }
    case 'ref': {
      if (term.head !== 'input' && !env.has(term.head)) return [];
      let current: unknown[] = [term.head === 'input' ? input : env.get(term.head)];
      for (const step of term.path) {
        const next: unknown[] = [];
        for (const value of current) {
          if (typeof value !== 'object' || value === null) continue;
          if ('any' in step) next.push(...Object.values(value));
          else if ('index' in step) {
            if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
          } else if (!Array.isArray(value) && Object.hasOwn(value, step.key)) next.push((value as Record<string, unknown>)[step.key]);
        }
        current = bounded(next);
      }
      return current.filter((v) => v !== undefined);
    }
    case 'call': {
      let combos: unknown[][] = [[]];
      for (const arg of term.args) {
        const vs = values(arg, env, input);
        combos = bounded(combos.flatMap((prefix) => vs.map((v) => [...prefix, v])));
      }
      return combos.flatMap((args) => {
        const r = call(term.fn, args);
        return r === undefined ? [] : [r];
      });
    }
  }
}

function call(fn: string, args: unknown[]): unknown {
  if (!args.every((a) => typeof a === 'string')) return undefined;
  const [a, b] = args as string[];
  const two = args.length === 2;
  switch (fn) {
    case 'startswith': return two ? a!.startsWith(b!) : undefined;
    case 'endswith': return two ? a!.endsWith(b!) : undefined;
    case 'contains': return two ? a!.includes(b!) : undefined;
    case 'trim_prefix': return two ? (a!.startsWith(b!) ? a!.slice(b!.length) : a) : undefined;
    case 'trim_suffix': return two ? (b !== '' && a!.endsWith(b!) ? a!.slice(0, a!.length - b!.length) : a) : undefined;
    case 'lower': return args.length === 1 ? caseMap(a!, (c) => c.toLowerCase()) : undefined;
    case 'upper': return args.length === 1 ? caseMap(a!, (c) => c.toUpperCase()) : undefined;
    default: return undefined;
  }
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Go's strings.ToUpper/ToLower map one rune to one rune: `ß` stays `ß`, where JavaScript would give `SS`. */
function caseMap(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const m = f(c);
    out += [...m].length === 1 ? m : c;
  }
  return out;
}
