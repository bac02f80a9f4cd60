/**
 * `pathRegexp` as KubeSphere runs it: Go's RE2 (linear time, so no pattern can stall the isolate) through `re2js`,
 * and Go's `Regexp.ReplaceAllString` template expansion — `$1`, `${1}`, `$name`, `${name}`, `$$`; a name is taken
 * as long as possible (`$1x` is `${1x}`); an unknown group expands to nothing; an empty match right after the
 * previous match is not replaced.
 */
import { RE2JS } from 're2js';

const compiled = new Map<string, RE2JS>();

/** Compiles with RE2 (Go) syntax; throws re2js's syntax error for a pattern Go would refuse. */
export function compileGoRegexp(source: string): RE2JS {
  let re = compiled.get(source);
  if (!re) {
    re = RE2JS.compile(source);
    if (compiled.size >= 1000) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, re);
  }
  return re;
}

export function goReplaceAll(re: RE2JS, src: string, template: string): string {
  const named = re.namedGroups() as Record<string, number>;
  let out = '';
  let last = 0;
  for (const m of re.matchAll(src) as Iterable<RegExpMatchArray>) {
    const start = m.index!;
    const end = start + m[0]!.length;
    out += src.slice(last, start);
    if (end > last || start === 0) out += expand(template, m, named);
    last = end;
  }
  return out + src.slice(last);
}

const isWordChar = (ch: string) => /[\p{L}\p{Nd}_]/u.test(ch);

/** Go's `extract`: the name after `$` (braced or not) and what follows it; undefined when there is none. */
function extract(str: string): { name: string; num: number; rest: string } | undefined {
  if (str === '') return undefined;
  const brace = str[0] === '{';
  if (brace) str = str.slice(1);
  let i = 0;
  for (const ch of str) {
    if (!isWordChar(ch)) break;
    i += ch.length;
  }
  if (i === 0) return undefined;
  const name = str.slice(0, i);
  if (brace) {
    if (str[i] !== '}') return undefined;
    i++;
  }
  let num = /^(0|[1-9]\d{0,7})$/.test(name) ? Number(name) : -1;
  if (name.length > 1 && name[0] === '0') num = -1;
  return { name, num, rest: str.slice(i) };
}

function expand(template: string, m: RegExpMatchArray, named: Record<string, number>): string {
  let out = '';
  for (;;) {
    const k = template.indexOf('$');
    if (k < 0) break;
    out += template.slice(0, k);
    template = template.slice(k + 1);
    if (template[0] === '$') {
      out += '$';
      template = template.slice(1);
      continue;
    }
    const e = extract(template);
    if (!e) {
      out += '$';
      continue;
    }
    template = e.rest;
    const group = e.num >= 0 ? e.num : named[e.name];
    if (group !== undefined && group < m.length && m[group] !== undefined) out += m[group];
  }
  return out + template;
}
