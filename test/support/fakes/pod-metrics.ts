/**
 * Summarizer pods' /metrics without the pods: on the fake nodes no process runs, so the
 * operator's load monitor is pointed here (LLMPLAN_LOAD_SCRAPE=<url>, the `kubectl proxy`
 * shape: GET /api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/metrics). Each pod's page is
 * written by the service's own metrics module (service/metrics.ts), so names, labels and
 * histogram buckets are the real ones; what it says follows a profile the test sets, advanced
 * by the time since the previous scrape (counters grow as a pod under that load would).
 * A real HTTP server on 127.0.0.1; `/metrics` alone serves the default pod (pod-ip mode).
 *
 *   const pods = await FakePodMetrics.start();
 *   pods.pod('ns', 'llmplan-abc').set({ busySlots: 2, concurrency: 2, queued: 4, shedPerSecond: 5 });
 *   pods.pod('ns', 'llmplan-xyz').answer = 'hang';
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SUMMARY_ROUTE } from '../../../contract/metric-names.js';
import type { Admission } from '../../../service/admission.js';
import {
  CIRCUIT_STATE_VALUE,
  createMetrics,
  type ServiceMetrics,
} from '../../../service/metrics.js';

export interface LoadProfile {
  /** LM Studio calls in flight on average (and at the scrape, rounded). */
  busySlots: number;
  /** LMSTUDIO_MAX_CONCURRENCY. */
  concurrency: number;
  /** Requests waiting for a slot at the scrape. */
  queued: number;
  queueCapacity: number;
  /** Seconds each LM Studio chat call takes. */
  latencySeconds: number;
  /** Requests refused with 429 per second. */
  shedPerSecond: number;
  /** Seconds a request waits for a slot (every admitted request). */
  waitSeconds: number;
  /** Share of summary requests answered 503 (0…1). */
  errorShare: number;
  /** Its circuit breaker in front of LM Studio. */
  circuit: 'closed' | 'half_open' | 'open';
}

export const IDLE: LoadProfile = {
  busySlots: 0,
  concurrency: 4,
  queued: 0,
  queueCapacity: 64,
  latencySeconds: 0.5,
  shedPerSecond: 0,
  waitSeconds: 0,
  errorShare: 0,
  circuit: 'closed',
};

export class FakePod {
  profile: LoadProfile = { ...IDLE };
  /** ok: serve the page; hang: accept and never answer; 404: an image without /metrics. */
  answer: 'ok' | 'hang' | 'not-found' | 'no-load-metrics' = 'ok';
  scrapes = 0;
  readonly #metrics: ServiceMetrics = createMetrics();
  #last = Date.now();
  /** Fractions of events not yet observed (rates × seconds are rarely whole). */
  #carry = { calls: 0, shed: 0 };

  constructor() {
    const pod = this;
    this.#metrics.attachAdmission({
      get queued() {
        return pod.profile.queued;
      },
      get capacity() {
        return pod.profile.queueCapacity;
      },
      get inFlight() {
        return Math.round(pod.profile.busySlots);
      },
      get concurrency() {
        return pod.profile.concurrency;
      },
    } as unknown as Admission);
  }

  set(profile: Partial<LoadProfile>): this {
    this.#advance();
    this.profile = { ...this.profile, ...profile };
    this.#metrics.circuitState.set(CIRCUIT_STATE_VALUE[this.profile.circuit]);
    return this;
  }

  /** The page a scrape gets now, after the time since the last one has been lived. */
  async page(): Promise<string> {
    this.#advance();
    this.scrapes += 1;
    return this.#metrics.registry.metrics();
  }

  #advance(): void {
    const now = Date.now();
    const seconds = (now - this.#last) / 1000;
    this.#last = now;
    if (seconds <= 0) return;
    const p = this.profile;
    const m = this.#metrics;
    const calls = this.#carry.calls + (p.busySlots * seconds) / Math.max(0.001, p.latencySeconds);
    const whole = Math.floor(calls);
    this.#carry.calls = calls - whole;
    const errors = Math.round(whole * p.errorShare);
    for (let i = 0; i < whole; i++) {
      m.llmDuration.observe({ operation: 'chat', outcome: 'ok' }, p.latencySeconds);
      m.queueWait.observe(p.waitSeconds);
      m.httpDuration.observe(
        { method: 'POST', route: SUMMARY_ROUTE, status_code: i < errors ? '503' : '200' },
        p.latencySeconds + p.waitSeconds,
      );
    }
    const shed = this.#carry.shed + p.shedPerSecond * seconds;
    const shedWhole = Math.floor(shed);
    this.#carry.shed = shed - shedWhole;
    if (shedWhole > 0) {
      m.shed.inc({ reason: 'queue_full' }, shedWhole);
      for (let i = 0; i < shedWhole; i++) {
        m.queueWait.observe(0);
        m.httpDuration.observe({ method: 'POST', route: SUMMARY_ROUTE, status_code: '429' }, 0.001);
      }
    }
  }
}

const PROXY_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+)(?::\d+)?\/proxy\/metrics$/;

export class FakePodMetrics {
  readonly #server: Server;
  readonly #pods = new Map<string, FakePod>();
  readonly #sockets = new Set<Socket>();
  readonly #default = new FakePod();
  /** Requests served, and the largest number in flight at once. */
  readonly stats = { requests: 0, inFlight: 0, maxInFlight: 0 };

  private constructor() {
    this.#server = createServer((req, res) => {
      this.stats.requests += 1;
      this.stats.inFlight += 1;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
      res.on('close', () => {
        this.stats.inFlight -= 1;
      });
      const url = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
      const match = PROXY_PATH.exec(url);
      const pod = match
        ? this.pod(match[1] ?? '', match[2] ?? '')
        : url === '/metrics'
          ? this.#default
          : undefined;
      if (!pod) {
        res.writeHead(404).end('not found');
        return;
      }
      if (pod.answer === 'hang') return; // the socket stays open; the scraper times out
      if (pod.answer === 'not-found') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Cannot GET /metrics');
        return;
      }
      const page =
        pod.answer === 'no-load-metrics'
          ? Promise.resolve('# An older image: process metrics only\nprocess_cpu_seconds_total 1\n')
          : pod.page();
      page.then((text) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text);
      });
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<FakePodMetrics> {
    const fake = new FakePodMetrics();
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The base URL to give the operator (LLMPLAN_LOAD_SCRAPE). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The pod served at /metrics (pod-ip mode). */
  get defaultPod(): FakePod {
    return this.#default;
  }

  pod(namespace: string, name: string): FakePod {
    const key = `${namespace}/${name}`;
    let pod = this.#pods.get(key);
    if (!pod) {
      pod = new FakePod();
      this.#pods.set(key, pod);
    }
    return pod;
  }

  /** Every pod of a namespace seen so far (scraped or set). */
  podsIn(namespace: string): Map<string, FakePod> {
    const out = new Map<string, FakePod>();
    for (const [key, pod] of this.#pods) {
      const [ns, name] = key.split('/');
      if (ns === namespace && name) out.set(name, pod);
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
