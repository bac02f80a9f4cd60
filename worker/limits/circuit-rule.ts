/** What the worker and the circuit object exchange (plain data: it crosses an RPC boundary). */
export interface CircuitRule { failures: number; windowMs: number; cooldownMs: number }

export interface CircuitView {
  state: 'closed' | 'open' | 'half-open';
  /** While open: when the cooldown ends (or the current probe's lease does). */
  until: number;
  /** Failures counted in the current window. */
  failures: number;
  /** This caller may send the one probe. */
  probe?: boolean;
}
