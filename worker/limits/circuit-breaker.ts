/**
 * The Durable Object that holds one route's circuit, shared by every isolate: upstream failures (connection
 * errors, 5xx, timeouts) counted in a window open it for a cooldown; then one caller at a time is let through as a
 * probe, whose success closes it and whose failure opens it again. The state is kept in the object's SQLite-backed
 * storage, written only when it changes, so it survives an eviction.
 */
import { DurableObject } from 'cloudflare:workers';
import type { CircuitRule, CircuitView } from './circuit-rule';

interface Circuit { state: 'closed' | 'open' | 'half-open'; failures: number[]; until: number; probeUntil: number }

const CLOSED: Circuit = { state: 'closed', failures: [], until: 0, probeUntil: 0 };
/** How long a probe may take before another caller may probe. */
const PROBE_LEASE_MS = 10_000;

export class CircuitBreaker extends DurableObject {
  private circuit: Circuit | undefined;

  private async load(): Promise<Circuit> {
    this.circuit ??= (await this.ctx.storage.get<Circuit>('circuit')) ?? { ...CLOSED };
    return this.circuit;
  }

  private async save(c: Circuit): Promise<void> {
    this.circuit = c;
    await this.ctx.storage.put('circuit', c);
  }

  /** The state as callers should act on it; an open circuit past its cooldown hands out one probe. */
  async acquire(rule: CircuitRule, now = Date.now()): Promise<CircuitView> {
    const c = await this.load();
    if (c.state === 'closed') return { state: 'closed', until: 0, failures: c.failures.filter((t) => t > now - rule.windowMs).length };
    if (c.state === 'open' && now < c.until) return { state: 'open', until: c.until, failures: c.failures.length };
    if (c.state === 'half-open' && now < c.probeUntil) return { state: 'open', until: c.probeUntil, failures: c.failures.length };
    await this.save({ ...c, state: 'half-open', probeUntil: now + PROBE_LEASE_MS });
    return { state: 'half-open', until: now + PROBE_LEASE_MS, failures: c.failures.length, probe: true };
  }

  /**
   * An upstream outcome; returns the state after it. While the circuit is not closed only the probe's success
   * closes it: a success of a request that was under way before it opened says nothing about the upstream now.
   */
  async report(rule: CircuitRule, ok: boolean, now = Date.now(), probe = false): Promise<CircuitView> {
    const c = await this.load();
    if (ok) {
      if (c.state === 'closed' || probe) {
        if (c.state !== 'closed' || c.failures.length) await this.save({ ...CLOSED });
        return { state: 'closed', until: 0, failures: 0 };
      }
      return { state: 'open', until: c.state === 'open' ? c.until : c.probeUntil, failures: c.failures.length };
    }
    if (c.state === 'half-open') {
      await this.save({ ...c, state: 'open', until: now + rule.cooldownMs, probeUntil: 0 });
      return { state: 'open', until: now + rule.cooldownMs, failures: c.failures.length };
    }
    const failures = [...c.failures.filter((t) => t > now - rule.windowMs), now];
    if (c.state === 'closed' && failures.length >= rule.failures) {
      await this.save({ state: 'open', failures, until: now + rule.cooldownMs, probeUntil: 0 });
      return { state: 'open', until: now + rule.cooldownMs, failures: failures.length };
    }
    await this.save({ ...c, failures });
    return { state: c.state === 'closed' ? 'closed' : 'open', until: c.until, failures: failures.length };
  }

  async view(rule: CircuitRule, now = Date.now()): Promise<CircuitView> {
    const c = await this.load();
    return { state: c.state, until: c.until, failures: c.failures.filter((t) => t > now - rule.windowMs).length };
  }
}
