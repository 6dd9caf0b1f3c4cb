/**
 * What every installer (OS handles, pool adapters, promise hooks) gets: the registry, the site table, the
 * patcher that can undo it all, and the sampling decision.
 * @internal
 */
import type { Level } from '../../collector/probe-state';
import type { Patcher } from './patcher';
import type { Registry } from './registry';
import type { SiteTable } from './sites';

export interface ProbeContext {
  readonly level: Level;
  readonly registry: Registry;
  readonly sites: SiteTable;
  readonly patcher: Patcher;
  /**
   * The pool whose method is running right now (synchronously), so that a Worker it starts is attributed
   * to it; 0 outside pool methods.
   */
  activePool: number;
  /** Ids of workers started while a pool was being constructed (its id is not known yet). */
  constructing: number[] | null;
  /** Callbacks that undo what cannot go through the patcher. */
  readonly undo: Array<() => void>;
  /**
   * False once detached: what the patcher cannot take back (construct proxies and adapted exports the app
   * already holds) checks it and only forwards.
   */
  active: boolean;
}

/**
 * Frequent handles (timeouts, client sockets) are sampled at the `sample` level: the first `always` of a
 * kind get a stack, then one in `every`. `full` tracks all.
 */
export class Sampler {
  #seen = 0;
  constructor(
    private readonly level: Level,
    private readonly always: number,
    private readonly every: number,
  ) {}
  take(): boolean {
    if (this.level === 'full') return true;
    const n = this.#seen++;
    return n < this.always || n % this.every === 0;
  }
}
