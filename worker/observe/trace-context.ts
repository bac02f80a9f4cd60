/**
 * W3C Trace Context (`traceparent`, `tracestate`): a client's valid `traceparent` is kept and sent upstream with
 * its `tracestate`; without one, the edge starts a trace from its request ids' randomness (a per-isolate random
 * prefix and a counter), so an operator can follow one request from the edge into an extension's backend.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;

export interface TraceContext { traceparent: string; tracestate?: string; traceId: string }

/** The client's context when its `traceparent` is valid (version 00 exactly, a later one by its prefix), else undefined. */
export function givenContext(traceparent: string | null, tracestate: string | null): TraceContext | undefined {
  if (traceparent === null) return undefined;
  const m = TRACEPARENT.exec(traceparent.trim());
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined) || ZEROS.test(m[2]!) || ZEROS.test(m[3]!)) return undefined;
  return { traceparent: traceparent.trim(), traceId: m[2]!, ...(tracestate ? { tracestate } : {}) };
}

let prefix: string | undefined;
let count = 0;

/** A new context: trace id = 20 random hex digits drawn once per isolate and a 12-digit counter; not sampled. */
export function newContext(): TraceContext {
  prefix ??= crypto.randomUUID().replace(/-/g, '').slice(0, 20);
  const n = (++count).toString(16).padStart(12, '0');
  const traceId = `${prefix}${n}`;
  return { traceparent: `00-${traceId}-${prefix.slice(0, 4)}${n}-00`, traceId };
}

/** Sets the context on an upstream request (a client's stale `tracestate` goes with its invalid `traceparent`). */
export function propagate(headers: Headers, ctx: TraceContext): void {
  headers.set('traceparent', ctx.traceparent);
  if (ctx.tracestate) headers.set('tracestate', ctx.tracestate);
  else headers.delete('tracestate');
}
