/** Applies compiled headerUp/headerDown operations to a Headers object, in order. */
import type { HeaderOp } from '../model/snapshot';
import { renderTemplate, type TemplateContext } from './template';

export function applyHeaderOps(headers: Headers, ops: readonly HeaderOp[], ctx: TemplateContext): void {
  for (const op of ops) {
    switch (op.op) {
      case 'delete':
        headers.delete(op.name);
        break;
      case 'deleteMatching': {
        const doomed = new Set<string>();
        for (const [name] of headers) if (wildcardMatches(op.match, op.text, name)) doomed.add(name);
        for (const name of doomed) headers.delete(name);
        break;
      }
      case 'set':
        headers.set(op.name, renderTemplate(op.value, ctx, 'header'));
        break;
      case 'add':
        headers.append(op.name, renderTemplate(op.value, ctx, 'header'));
        break;
    }
  }
}

/** `name` arrives lower-cased from Headers iteration; `text` was lower-cased at export. */
function wildcardMatches(match: 'prefix' | 'suffix' | 'contains' | 'all', text: string, name: string): boolean {
  switch (match) {
    case 'all': return true;
    case 'prefix': return name.startsWith(text);
    case 'suffix': return name.endsWith(text);
    case 'contains': return name.includes(text);
  }
}
