/**
 * Each SummarizerService's status as metrics, for alerting (deploy/monitoring/): its
 * conditions the way kube-state-metrics exports them (one series per status, 1 for the
 * current one), its load state and saturation. Set on every reconcile from the status just
 * computed; removed when the resource is gone. Only the leader reconciles, so only it exports.
 */
import { Gauge, type Registry } from 'prom-client';
import { LOAD_STATES, type SummarizerServiceStatus } from '../api/status.js';

const STATUSES = ['True', 'False', 'Unknown'] as const;

export class StatusMetrics {
  readonly #conditions: Gauge<'namespace' | 'name' | 'type' | 'status'>;
  readonly #load: Gauge<'namespace' | 'name' | 'state'>;
  readonly #saturation: Gauge<'namespace' | 'name'>;
  /** Condition types exported per resource, so a forgotten resource leaves no series. */
  readonly #types = new Map<string, Set<string>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.#conditions = new Gauge({
      name: 'llmplan_summarizerservice_condition',
      help: 'Conditions of each SummarizerService: 1 for the current status (True, False, Unknown) of each type.',
      labelNames: ['namespace', 'name', 'type', 'status'],
      registers,
    });
    this.#load = new Gauge({
      name: 'llmplan_summarizerservice_load_state',
      help: "status.load.state of each SummarizerService (from its pods' own /metrics): 1 for the current state.",
      labelNames: ['namespace', 'name', 'state'],
      registers,
    });
    this.#saturation = new Gauge({
      name: 'llmplan_summarizerservice_load_saturation_ratio',
      help: "Share of each SummarizerService's LM Studio slots in use (status.load.saturationPercent / 100).",
      labelNames: ['namespace', 'name'],
      registers,
    });
  }

  observe(namespace: string, name: string, status: SummarizerServiceStatus): void {
    const key = `${namespace}/${name}`;
    const types = this.#types.get(key) ?? new Set<string>();
    for (const condition of status.conditions ?? []) {
      types.add(condition.type);
      for (const value of STATUSES) {
        this.#conditions.set(
          { namespace, name, type: condition.type, status: value },
          condition.status === value ? 1 : 0,
        );
      }
    }
    this.#types.set(key, types);
    const load = status.load;
    for (const state of LOAD_STATES) {
      this.#load.set({ namespace, name, state }, load?.state === state ? 1 : 0);
    }
    this.#saturation.set({ namespace, name }, (load?.saturationPercent ?? 0) / 100);
  }

  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    for (const type of this.#types.get(key) ?? []) {
      for (const status of STATUSES) this.#conditions.remove({ namespace, name, type, status });
    }
    this.#types.delete(key);
    for (const state of LOAD_STATES) this.#load.remove({ namespace, name, state });
    this.#saturation.remove({ namespace, name });
  }
}
