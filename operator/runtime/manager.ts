/**
 * The manager runs everything (controller-runtime's `manager`): one client, shared informers,
 * controllers, leader election, events, and the metrics/health server.
 *
 * Start: serve /healthz and /readyz → start informers → wait for their caches → campaign for
 * the Lease → run controllers only while leader. Standbys keep warm caches and report ready
 * (so a rollout does not kill them) but reconcile nothing.
 *
 * Stop (SIGTERM/SIGINT, `stop()` or the start signal): stop taking new work, drain in-flight
 * reconciles (bounded), stop watches, release the lease so a standby takes over at once, flush
 * events, close the server. A second signal exits immediately, as controller-runtime does.
 * Losing the lease also stops everything, and `start()` then rejects: the process should exit
 * and be restarted rather than risk acting alongside the new leader.
 */
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { KubeClient } from './client.js';
import type { ClientOptions } from './client-options.js';
import type { ClusterAccess } from './connection.js';
import { Controller, type ControllerOptions } from './controller.js';
import { clientEventSink, EventRecorder } from './events.js';
import { Informer, type InformerOptions } from './informer.js';
import { type LeaderElectionTiming, LeaderElector } from './leader-election.js';
import { errorFields, type RuntimeLogger, silentLogger } from './logger.js';
import { RuntimeMetrics } from './metrics.js';
import type { KubeObject, ResourceDescriptor } from './resource.js';
import { RuntimeServer } from './server.js';
import type { IndexFunc } from './store.js';

export interface LeaderElectionOptions extends Partial<LeaderElectionTiming> {
  /** Namespace of the Lease (usually the operator's own). */
  namespace: string;
  /** The Lease's name. */
  name: string;
  identity?: string;
}

export type InformerDefaults = Omit<
  InformerOptions<KubeObject>,
  'indexers' | 'namespace' | 'labelSelector' | 'fieldSelector' | 'logger' | 'transform'
>;

export interface ManagerOptions {
  /** A client-node KubeConfig, or a ClusterAccess (e.g. loadClusterAccess()) to avoid loading client-node. */
  kubeConfig: KubeConfig | ClusterAccess;
  logger?: RuntimeLogger;
  client?: Omit<ClientOptions, 'metrics'>;
  /** Where to serve /metrics, /healthz, /readyz (`host:port`); false: no server. Default `:8080`. */
  bindAddress?: string | false;
  /** false: this process always acts (one replica only!). */
  leaderElection: LeaderElectionOptions | false;
  /** Bound on draining in-flight reconciles at shutdown. Default 30 s. */
  gracefulShutdownTimeoutMs?: number;
  /** Give up starting if caches are not filled by then. Default 2 min. */
  cacheSyncTimeoutMs?: number;
  /** Stop on SIGTERM/SIGINT. Default true. */
  handleSignals?: boolean;
  /** Resync, watch timeouts and backoff for every informer. */
  informerDefaults?: InformerDefaults;
  /** Register metrics here instead of a fresh registry. */
  registry?: Registry;
  /** Export Node process metrics too. Default true. */
  processMetrics?: boolean;
}

export interface InformerSelection<T extends KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /** Cache transform (see InformerOptions.transform); the first caller's wins for a shared informer. */
  transform?: (obj: T) => T;
  /** Overrides the manager's default resync period for this informer (0: none). */
  resyncPeriodMs?: number;
}

/**
 * Work that runs only while this process leads, beside the controllers (controller-runtime's
 * leader-election Runnable): started with a signal that aborts when leadership ends or the
 * manager stops. A rejection is logged; it does not stop the manager.
 */
export type Runnable = (signal: AbortSignal) => Promise<void> | void;

export class LeaderElectionLostError extends Error {
  override name = 'LeaderElectionLostError';
}

export class Manager {
  readonly client: KubeClient;
  readonly metrics: RuntimeMetrics;
  readonly logger: RuntimeLogger;
  /** This process's identity: the Lease holder identity and the events' reportingInstance. */
  readonly identity: string;
  readonly #opts: ManagerOptions;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  readonly #controllers: Controller[] = [];
  readonly #runnables: { name: string; run: Runnable }[] = [];
  readonly #running: Promise<void>[] = [];
  readonly #recorders: EventRecorder[] = [];
  readonly #elector: LeaderElector | undefined;
  readonly #server: RuntimeServer | undefined;
  readonly #stop = new AbortController();
  #started = false;
  #address: { host: string; port: number } | undefined;

  constructor(options: ManagerOptions) {
    this.#opts = options;
    this.logger = options.logger ?? silentLogger;
    this.metrics = new RuntimeMetrics(options.registry, {
      processMetrics: options.processMetrics ?? true,
    });
    this.client = new KubeClient(options.kubeConfig, { ...options.client, metrics: this.metrics });
    const election = options.leaderElection;
    this.#elector = election
      ? new LeaderElector({
          ...election,
          client: this.client,
          logger: this.logger,
          onStartedLeading: (signal) => this.#lead(signal),
        })
      : undefined;
    this.identity = this.#elector?.identity ?? `${hostname()}_${process.pid}`;
    this.#server =
      options.bindAddress === false
        ? undefined
        : new RuntimeServer({
            registry: this.metrics.registry,
            bindAddress: options.bindAddress,
            logger: this.logger,
          });
    this.#server?.addReadyCheck('informers-synced', () =>
      [...this.#informers.values()].every((i) => i.hasSynced()),
    );
  }

  /** The server's bound address once started (useful with port 0). */
  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  isLeader(): boolean {
    return this.#elector ? this.#elector.isLeader() : this.#started;
  }

  /** A shared informer per resource + namespace + selectors; the same arguments return the same informer. */
  informer<T extends KubeObject>(
    resource: ResourceDescriptor,
    selection: InformerSelection<T> = {},
  ): Informer<T> {
    const { indexers, transform, ...scope } = selection;
    const key = JSON.stringify([resource.group, resource.version, resource.plural, scope]);
    let informer = this.#informers.get(key) as Informer<T> | undefined;
    if (!informer) {
      informer = new Informer<T>(this.client, resource, {
        ...this.#opts.informerDefaults,
        ...scope,
        ...(transform ? { transform } : {}),
        logger: this.logger,
      });
      this.#informers.set(key, informer as unknown as Informer<KubeObject>);
      if (this.#started) informer.start();
    }
    if (indexers) informer.addIndexers(indexers);
    return informer;
  }

  /** Registers a controller; it runs only while this process leads. */
  addController(options: Omit<ControllerOptions, 'metrics' | 'logger'>): Controller {
    const controller = new Controller({ ...options, metrics: this.metrics, logger: this.logger });
    this.#controllers.push(controller);
    return controller;
  }

  /** Registers work that runs only while this process leads (see {@link Runnable}). */
  add(name: string, run: Runnable): void {
    this.#runnables.push({ name, run });
  }

  /** An event recorder reporting as `reportingController` from this process. */
  eventRecorder(reportingController: string): EventRecorder {
    const recorder = new EventRecorder({
      sink: clientEventSink(this.client),
      reportingController,
      reportingInstance: this.identity.slice(0, 128),
      logger: this.logger,
    });
    this.#recorders.push(recorder);
    return recorder;
  }

  /** Asks a running manager to shut down (start() resolves when done). */
  stop(): void {
    this.#stop.abort();
  }

  /** Runs until stopped; resolves after a clean shutdown, rejects on startup failure or lost leadership. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('manager already started');
    this.#started = true;
    const stop = this.#stop.signal;
    signal?.addEventListener('abort', () => this.stop(), { once: true });
    if (signal?.aborted) this.stop();
    const removeSignalHandlers =
      this.#opts.handleSignals === false ? () => undefined : this.#handleSignals();
    let failure: unknown;
    let electionDone: Promise<{ lost: boolean }> | undefined;
    const election = new AbortController();
    try {
      if (this.#server) this.#address = await this.#server.start();
      for (const informer of this.#informers.values()) informer.start();
      await this.#waitForCaches(stop);
      if (!stop.aborted) {
        this.logger.info({ informers: this.#informers.size }, 'caches synced');
        if (this.#elector) {
          electionDone = this.#elector.run(election.signal);
          const outcome = await Promise.race([electionDone, aborted(stop).then(() => undefined)]);
          if (outcome?.lost) throw new LeaderElectionLostError('leader election lost');
        } else {
          this.#lead(stop);
          await aborted(stop);
        }
      }
    } catch (err) {
      failure = err;
      this.logger.error(errorFields(err), 'manager stopping on error');
    }
    await this.#shutdown(failure !== undefined, election, electionDone);
    removeSignalHandlers();
    if (failure !== undefined) throw failure;
  }

  #lead(leadership: AbortSignal): void {
    this.logger.info({ controllers: this.#controllers.length }, 'leading: starting controllers');
    for (const controller of this.#controllers) controller.start();
    const signal = AbortSignal.any([leadership, this.#stop.signal]);
    for (const { name, run } of this.#runnables) {
      this.#running.push(
        Promise.resolve()
          .then(() => run(signal))
          .catch((err: unknown) =>
            this.logger.error({ ...errorFields(err), runnable: name }, 'runnable failed'),
          ),
      );
    }
    leadership.addEventListener(
      'abort',
      () => {
        // Lost or released: stop acting at once; in-flight reconciles are aborted, not drained.
        if (!this.#stop.signal.aborted) for (const c of this.#controllers) void c.stop(0);
      },
      { once: true },
    );
  }

  async #waitForCaches(stop: AbortSignal): Promise<void> {
    const timeoutMs = this.#opts.cacheSyncTimeoutMs ?? 120_000;
    const giveUp = AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]);
    // One listener per informer is expected, not a leak.
    setMaxListeners(this.#informers.size + 10, giveUp);
    const synced = await Promise.all(
      [...this.#informers.values()].map((i) => i.waitForSync(giveUp)),
    );
    if (!stop.aborted && !synced.every(Boolean)) {
      const pending = [...this.#informers.values()]
        .filter((i) => !i.hasSynced())
        .map((i) => i.resource.plural);
      throw new Error(`caches not synced within ${timeoutMs} ms: ${pending.join(', ')}`);
    }
  }

  async #shutdown(
    failed: boolean,
    election: AbortController,
    electionDone: Promise<{ lost: boolean }> | undefined,
  ): Promise<void> {
    this.logger.info('shutting down');
    const drainMs = failed ? 0 : (this.#opts.gracefulShutdownTimeoutMs ?? 30_000);
    const drained = await Promise.all(this.#controllers.map((c) => c.stop(drainMs)));
    // Runnables saw the stop signal; a slow one cannot hold the shutdown.
    await Promise.race([
      Promise.all(this.#running),
      new Promise((r) => setTimeout(r, Math.max(drainMs, 1000)).unref()),
    ]);
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    // After the drain, so the lease is held while our last writes land.
    election.abort();
    await electionDone?.catch(() => undefined);
    await Promise.all(this.#recorders.map((r) => r.stop()));
    await this.#server?.close();
    await this.client.close();
    this.logger.info({ drained: drained.every(Boolean) }, 'shutdown complete');
  }

  #handleSignals(): () => void {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      received += 1;
      if (received > 1) {
        this.logger.error({ signal }, 'second signal: exiting immediately');
        process.exit(1);
      }
      this.logger.info({ signal }, 'signal received: shutting down gracefully');
      this.stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    return () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
