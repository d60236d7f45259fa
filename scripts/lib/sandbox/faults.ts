// Deterministic fault injection for API requests: given the same seed, rate and kinds, the n-th
// API request always gets the same fate. Faults never serve wrong data: a 5xx has an error body,
// a reset destroys the socket with no response, a slow response is correct but late, and a
// malformed body is a truncated (unparseable) prefix of the real one.
import { Rng } from './util.ts';

export type FaultKind = '500' | '502' | '503' | 'reset' | 'slow' | 'malformed';
export const FAULT_KINDS: readonly FaultKind[] = ['500', '502', '503', 'reset', 'slow', 'malformed'];

export interface FaultOptions {
  rate?: number;
  kinds?: FaultKind[];
  slowMs?: number;
  seed?: number;
}

export class Faults {
  private rng: Rng;
  private opts: Required<FaultOptions>;

  constructor(opts: FaultOptions | undefined, defaultSeed: number) {
    this.opts = Faults.resolve(opts, defaultSeed);
    this.rng = new Rng(this.opts.seed);
  }

  private static resolve(opts: FaultOptions | undefined, defaultSeed: number): Required<FaultOptions> {
    const rate = opts?.rate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new Error(`faults.rate must be between 0 and 1 (got ${rate})`);
    const kinds = opts?.kinds && opts.kinds.length > 0 ? opts.kinds : [...FAULT_KINDS];
    for (const k of kinds) if (!FAULT_KINDS.includes(k)) throw new Error(`Unknown fault kind '${k}'; expected one of ${FAULT_KINDS.join(', ')}`);
    return { rate, kinds, slowMs: opts?.slowMs ?? 3000, seed: opts?.seed ?? defaultSeed };
  }

  /** Replaces the configuration and restarts the deterministic schedule. */
  set(opts: FaultOptions | undefined, defaultSeed: number): void {
    this.opts = Faults.resolve(opts, defaultSeed);
    this.rng = new Rng(this.opts.seed);
  }

  get slowMs(): number {
    return this.opts.slowMs;
  }

  /** Draws the fate of the next API request. */
  next(): FaultKind | null {
    if (this.opts.rate <= 0) return null;
    const hit = this.rng.next() < this.opts.rate;
    const pick = this.opts.kinds[Math.floor(this.rng.next() * this.opts.kinds.length)] as FaultKind;
    return hit ? pick : null;
  }
}

export function faultBody(kind: '500' | '502' | '503'): unknown {
  switch (kind) {
    case '500':
      return { code: 500, message: 'Internal Server Error', status: 'Internal Server Error', details: [] };
    case '502':
      return { fault: { faultstring: 'Unexpected EOF at target', detail: { errorcode: 'messaging.adaptors.http.flow.UnexpectedEOFAtTarget' } } };
    case '503':
      return { fault: { faultstring: 'The Service is temporarily unavailable', detail: { errorcode: 'messaging.adaptors.http.flow.ServiceUnavailable' } } };
  }
}

/** A strict prefix of a JSON object text is never valid JSON, so clients must fail to parse it. */
export function malformed(json: string): string {
  return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
}
