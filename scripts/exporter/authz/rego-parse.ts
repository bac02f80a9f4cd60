/**
 * Parses a role's `iam.kubesphere.io/rego-override` policy (Rego v0, as ks-apiserver evaluates it) into the subset
 * the edge evaluates: `package authz`, `default allow = false`, and `allow [= true] { … }` rules whose bodies are
 * `:=` assignments, `==` / `!=` comparisons and tests over `input.…` references, local variables, `[_]`
 * iteration, literals, arrays and a few string built-ins. That covers every policy KubeSphere ships (and their
 * merged forms). Anything else throws `RegoUnsupported` with the reason: the exporter then warns that the role
 * grants only its rules at the edge — stricter than KubeSphere, never looser.
 */
import type { RegoExpr, RegoPathElement, RegoProgram, RegoTerm } from '../../../worker/model/authz';
import { REGO_BUILTINS } from '../../../worker/authz/rego';

export class RegoUnsupported extends Error {}

type Token = { k: 'str'; v: string } | { k: 'num'; v: number } | { k: 'id'; v: string } | { k: 'p'; v: string } | { k: 'nl' };

const PUNCT = [':=', '==', '!=', '{', '}', '[', ']', '(', ')', ',', '.', '=', ';'];

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') { out.push({ k: 'nl' }); i++; continue; }
    // OPA's whitespace is ASCII: anything else (a no-break space) is not evaluated.
    if (ch === ' ' || ch === '\t' || ch === '\r') { i++; continue; }
    if (ch === '#') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new RegoUnsupported('unterminated string');
      try {
        out.push({ k: 'str', v: JSON.parse(text.slice(i, j + 1)) as string });
      } catch {
        throw new RegoUnsupported(`bad string literal ${text.slice(i, j + 1)}`);
      }
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(text.slice(i));
    if (num && (ch !== '-' || /\d/.test(text[i + 1] ?? ''))) { out.push({ k: 'num', v: Number(num[0]) }); i += num[0].length; continue; }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (id) { out.push({ k: 'id', v: id[0] }); i += id[0].length; continue; }
    const p = PUNCT.find((x) => text.startsWith(x, i));
    if (!p) throw new RegoUnsupported(`unexpected character ${JSON.stringify(ch)}`);
    out.push({ k: 'p', v: p });
    i += p.length;
  }
  return out;
}

/** Limits that keep parsing and evaluation cheap whatever a role author writes. */
export const REGO_LIMITS = { textBytes: 64 * 1024, depth: 16, rules: 64, expressions: 64 };

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token | undefined { return this.toks[this.i]; }
  private next(): Token {
    const t = this.toks[this.i++];
    if (!t) throw new RegoUnsupported('unexpected end of policy');
    return t;
  }
  private isP(v: string, t = this.peek()): boolean { return t?.k === 'p' && t.v === v; }
  private expectP(v: string): void {
    const t = this.next();
    if (!(t.k === 'p' && t.v === v)) throw new RegoUnsupported(`expected "${v}", found ${describe(t)}`);
  }
  private expectId(v: string): void {
    const t = this.next();
    if (!(t.k === 'id' && t.v === v)) throw new RegoUnsupported(`expected "${v}", found ${describe(t)}`);
  }
  private skipNewlines(): void { while (this.peek()?.k === 'nl' || this.isP(';')) this.i++; }

  program(): RegoProgram {
    const allow: RegoExpr[][] = [];
    let sawPackage = false;
    for (this.skipNewlines(); this.peek(); this.skipNewlines()) {
      const t = this.next();
      if (t.k !== 'id') throw new RegoUnsupported(`unexpected ${describe(t)} at the top level`);
      if (t.v === 'package') {
        if (sawPackage) throw new RegoUnsupported('a second "package" line');
        this.expectId('authz');
        if (this.isP('.')) throw new RegoUnsupported('only "package authz" is evaluated');
        sawPackage = true;
      } else if (t.v === 'default') {
        this.expectId('allow');
        this.expectP('=');
        this.expectId('false');
      } else if (t.v === 'allow') {
        if (this.isP('=')) { this.i++; this.expectId('true'); }
        this.expectP('{');
        allow.push(this.body());
        if (allow.length > REGO_LIMITS.rules) throw new RegoUnsupported(`more than ${REGO_LIMITS.rules} rules`);
      } else if (t.v === 'import') {
        throw new RegoUnsupported('imports are not evaluated');
      } else {
        throw new RegoUnsupported(`rule "${t.v}" is not evaluated (only "allow" rules are)`);
      }
    }
    if (!sawPackage) throw new RegoUnsupported('no "package authz"');
    return { allow };
  }

  private body(): RegoExpr[] {
    const exprs: RegoExpr[] = [];
    const vars = new Set<string>();
    for (this.skipNewlines(); !this.isP('}'); this.skipNewlines()) {
      exprs.push(this.expr(vars));
      if (exprs.length > REGO_LIMITS.expressions) throw new RegoUnsupported(`a rule of more than ${REGO_LIMITS.expressions} expressions`);
      const t = this.peek();
      if (!(t?.k === 'nl' || this.isP(';') || this.isP('}'))) throw new RegoUnsupported(`expected the end of an expression, found ${t ? describe(t) : 'the end'}`);
    }
    this.expectP('}');
    if (exprs.length === 0) throw new RegoUnsupported('an empty rule body');
    return exprs;
  }

  private expr(vars: Set<string>): RegoExpr {
    const t = this.peek();
    if (t?.k === 'id' && this.isP(':=', this.toks[this.i + 1])) {
      this.i += 2;
      if (t.v === 'input' || t.v === '_' || vars.has(t.v)) throw new RegoUnsupported(`cannot assign to "${t.v}"`);
      const value = this.term(vars);
      vars.add(t.v);
      return { op: 'assign', name: t.v, value };
    }
    const left = this.term(vars);
    if (this.isP('==') || this.isP('!=')) {
      const op = this.next() as { v: string };
      return { op: op.v === '==' ? 'eq' : 'neq', left, right: this.term(vars) };
    }
    if (this.isP('=')) throw new RegoUnsupported('unification ("=") in a rule body is not evaluated');
    return { op: 'test', term: left };
  }

  private term(vars: Set<string>): RegoTerm {
    if (++this.depth > REGO_LIMITS.depth) throw new RegoUnsupported(`terms nested more than ${REGO_LIMITS.depth} deep`);
    try {
      return this.termAt(vars);
    } finally {
      this.depth--;
    }
  }

  private termAt(vars: Set<string>): RegoTerm {
    const t = this.next();
    if (t.k === 'str' || t.k === 'num') return { t: 'value', v: t.v };
    if (t.k === 'p' && t.v === '[') {
      const items: RegoTerm[] = [];
      while (!this.isP(']')) {
        items.push(this.term(vars));
        if (!this.isP(']')) this.expectP(',');
      }
      this.expectP(']');
      return { t: 'array', items };
    }
    if (t.k !== 'id') throw new RegoUnsupported(`unexpected ${describe(t)}`);
    if (t.v === 'true' || t.v === 'false') return { t: 'value', v: t.v === 'true' };
    if (t.v === 'null') return { t: 'value', v: null };
    if (this.isP('(')) {
      if (!REGO_BUILTINS.includes(t.v)) throw new RegoUnsupported(`built-in "${t.v}" is not evaluated`);
      this.i++;
      const args: RegoTerm[] = [];
      while (!this.isP(')')) {
        args.push(this.term(vars));
        if (!this.isP(')')) this.expectP(',');
      }
      this.expectP(')');
      return { t: 'call', fn: t.v, args };
    }
    if (t.v !== 'input' && !vars.has(t.v)) throw new RegoUnsupported(`"${t.v}" is neither input nor a variable assigned before`);
    const path: RegoPathElement[] = [];
    for (;;) {
      if (this.isP('.')) {
        this.i++;
        const key = this.next();
        if (key.k !== 'id') throw new RegoUnsupported(`expected a field name after ".", found ${describe(key)}`);
        path.push({ key: key.v });
      } else if (this.isP('[')) {
        this.i++;
        const k = this.next();
        if (k.k === 'id' && k.v === '_') path.push({ any: true });
        else if (k.k === 'str') path.push({ key: k.v });
        else if (k.k === 'num' && Number.isInteger(k.v) && k.v >= 0) path.push({ index: k.v });
        else throw new RegoUnsupported(`index ${describe(k)} is not evaluated (only "_", strings and numbers)`);
        this.expectP(']');
      } else break;
    }
    return { t: 'ref', head: t.v, path };
  }
}

function describe(t: Token): string {
  return t.k === 'nl' ? 'a line break' : JSON.stringify(String(t.v));
}

export function parseRego(text: string): RegoProgram {
  if (new TextEncoder().encode(text).byteLength > REGO_LIMITS.textBytes) throw new RegoUnsupported(`a policy larger than ${REGO_LIMITS.textBytes} bytes`);
  return new Parser(tokenize(text)).program();
}
