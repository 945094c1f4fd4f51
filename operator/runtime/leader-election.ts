/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm:
 *
 * - a candidate takes the Lease when it is unheld, released, or not renewed for
 *   `leaseDurationSeconds` as observed on the candidate's own monotonic clock (so clock skew
 *   between nodes does not matter); every write carries the resourceVersion it read, so two
 *   candidates can never both win (the loser gets 409 Conflict);
 * - the leader renews every `retryPeriod`; if it cannot renew within `renewDeadline` it stops
 *   leading (callback) *before* the lease can expire for the others (renewDeadline < leaseDuration);
 * - on shutdown the leader releases: holder cleared, leaseDurationSeconds 1, so a standby
 *   takes over within about one retryPeriod instead of a whole leaseDuration.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sleep } from './backoff.js';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { errorFields, type RuntimeLogger, silentLogger } from './logger.js';
import { nowMicroTime } from './microtime.js';
import { builtin, type KubeObject } from './resource.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionTiming {
  /** How long a lease holds without renewal. Default 15 s. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before giving up leadership. Default 10 s. */
  renewDeadlineMs: number;
  /** Pause between attempts (acquire and renew). Default 2 s. */
  retryPeriodMs: number;
}

export const defaultLeaderElectionTiming: LeaderElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface LeaderElectorOptions extends Partial<LeaderElectionTiming> {
  client: KubeClient;
  namespace: string;
  /** The Lease's name (also the `name` label of leader_election_master_status). */
  name: string;
  /** Unique per process. Default `<hostname>_<uuid>` (client-go's convention). */
  identity?: string;
  /** Release the lease when stopped via the run signal. Default true; false only to simulate a crash. */
  releaseOnCancel?: boolean;
  /** Called when this process becomes leader; `signal` aborts when it stops being leader. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called once when leadership ends (lost or released). */
  onStoppedLeading?: () => void;
  /** Called when a different holder is observed. */
  onNewLeader?: (identity: string) => void;
  logger?: RuntimeLogger;
}

/** Wake this long after the observed expiry, so the check `expiresAt > now` is surely past. */
const EXPIRY_MARGIN_MS = 5;

export class LeaderElector {
  readonly identity: string;
  readonly #opts: LeaderElectorOptions;
  readonly #timing: LeaderElectionTiming;
  readonly #log: RuntimeLogger;
  #lease: Lease | undefined;
  #observedRecord = '';
  #observedAt = 0;
  #leading = false;
  #lastLeader = '';

  constructor(options: LeaderElectorOptions) {
    this.#opts = options;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.#timing = {
      leaseDurationMs: options.leaseDurationMs ?? defaultLeaderElectionTiming.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs ?? defaultLeaderElectionTiming.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs ?? defaultLeaderElectionTiming.retryPeriodMs,
    };
    if (this.#timing.renewDeadlineMs >= this.#timing.leaseDurationMs) {
      throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    }
    this.#log = (options.logger ?? silentLogger).child({
      lease: `${options.namespace}/${options.name}`,
      identity: this.identity,
    });
    this.#setStatus(false);
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Campaigns until leader, leads until the lease cannot be renewed or `signal` aborts, and
   * then (on abort) releases the lease. Resolves when leadership is over: check `lost` to tell
   * a lost lease from a requested stop.
   */
  async run(signal: AbortSignal): Promise<{ lost: boolean }> {
    while (!signal.aborted && !(await this.#tryAcquireOrRenew(this.#timing.renewDeadlineMs))) {
      await sleep(this.#nextAttemptMs(), signal);
    }
    if (signal.aborted) return { lost: false };

    const leadership = new AbortController();
    this.#leading = true;
    this.#setStatus(true);
    this.#log.info('acquired leadership');
    this.#opts.onStartedLeading(leadership.signal);

    let lost = false;
    while (!signal.aborted) {
      await sleep(this.#timing.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (!(await this.#renewWithinDeadline(signal))) {
        lost = !signal.aborted;
        break;
      }
    }
    this.#leading = false;
    this.#setStatus(false);
    leadership.abort(new Error(lost ? 'leadership lost' : 'leader election stopped'));
    if (lost) this.#log.error('failed to renew the lease within renewDeadline; leadership lost');
    else if (this.#opts.releaseOnCancel ?? true) await this.release();
    this.#opts.onStoppedLeading?.();
    return { lost };
  }

  /**
   * A candidate's pause: client-go's JitterUntil(retryPeriod, 1.2), so candidates spread out
   * instead of retrying in lockstep — but never past the moment the lease we watch expires.
   * With the plain jitter a standby noticed a dead leader up to 4.4 s after its lease ran out
   * (a takeover after `kill -9` took 15–23 s, over the 20 s we promise 1 time in 20); waking at
   * the expiry bounds it by leaseDuration plus one observation lag (< 20 s).
   */
  #nextAttemptMs(): number {
    const jittered = this.#timing.retryPeriodMs * (1 + Math.random() * 1.2);
    const spec = this.#lease?.spec;
    const heldByOther = !!spec?.holderIdentity && spec.holderIdentity !== this.identity;
    if (!heldByOther || spec?.leaseDurationSeconds === undefined) return jittered;
    const expiresIn =
      this.#observedAt + spec.leaseDurationSeconds * 1000 - performance.now() + EXPIRY_MARGIN_MS;
    return expiresIn > 0 ? Math.min(jittered, expiresIn) : jittered;
  }

  /** Gives the lease up if we hold it, so a successor need not wait for it to expire. */
  async release(): Promise<void> {
    const lease = this.#lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = nowMicroTime();
    try {
      this.#lease = await this.#opts.client.replace<Lease>(
        builtin.leases,
        {
          ...lease,
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: lease.spec?.leaseTransitions ?? 0,
          },
        },
        { timeoutMs: this.#timing.renewDeadlineMs },
      );
      this.#log.info('released the lease');
    } catch (err) {
      this.#log.warn(
        errorFields(err),
        'could not release the lease; successors wait for it to expire',
      );
    }
  }

  async #renewWithinDeadline(signal: AbortSignal): Promise<boolean> {
    const deadline = performance.now() + this.#timing.renewDeadlineMs;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || signal.aborted) return false;
      if (await this.#tryAcquireOrRenew(remaining)) return true;
      await sleep(Math.min(this.#timing.retryPeriodMs, deadline - performance.now()), signal);
    }
  }

  async #tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const { client, namespace, name } = this.#opts;
    const now = nowMicroTime();
    const durationSeconds = Math.ceil(this.#timing.leaseDurationMs / 1000);
    const call = { timeoutMs: Math.max(1, Math.floor(timeoutMs)) };
    try {
      // Fast path: the leader renews against the lease it last wrote (no GET); a conflict falls back to a read.
      let lease =
        this.#leading && this.#lease
          ? this.#lease
          : await client.find<Lease>(builtin.leases, name, namespace, call);
      if (!lease) {
        const created = await client.create<Lease>(
          builtin.leases,
          {
            metadata: { name, namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
          call,
        );
        this.#observe(created);
        return true;
      }
      this.#observe(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const heldByOther = holder !== '' && holder !== this.identity;
      const expiresAt = this.#observedAt + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (heldByOther && expiresAt > performance.now()) return false;
      const mine = holder === this.identity;
      lease = await client.replace<Lease>(
        builtin.leases,
        {
          ...lease,
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
            renewTime: now,
            leaseTransitions: mine
              ? (spec.leaseTransitions ?? 0)
              : (spec.leaseTransitions ?? 0) + 1,
          },
        },
        call,
      );
      this.#observe(lease);
      return true;
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) {
        // Someone else wrote first; re-read next time.
        this.#lease = undefined;
        return false;
      }
      if (isNotFound(err)) this.#lease = undefined;
      this.#log.warn(errorFields(err), 'lease read/write failed');
      return false;
    }
  }

  /** Remembers the lease and, when its record changed, when we saw it change (local monotonic time). */
  #observe(lease: Lease): void {
    this.#lease = lease;
    const record = JSON.stringify(lease.spec ?? {});
    if (record !== this.#observedRecord) {
      this.#observedRecord = record;
      this.#observedAt = performance.now();
    }
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder && holder !== this.#lastLeader) {
      this.#lastLeader = holder;
      if (holder !== this.identity) this.#log.info({ leader: holder }, 'new leader observed');
      this.#opts.onNewLeader?.(holder);
    }
  }

  #setStatus(leading: boolean): void {
    this.#opts.client.metrics.leaderStatus.set({ name: this.#opts.name }, leading ? 1 : 0);
  }
}
