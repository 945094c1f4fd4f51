/**
 * SummarizerService `status` (docs/resource.md#status), written only by the operator through
 * the status subresource. The remediation part records what the operator did and what is
 * still in effect, so that decisions are rebuilt from cluster state after a restart or a
 * leader change (issue 5) instead of living in memory.
 */
import { z } from 'zod';

const dateTime = (description: string) =>
  z.iso.datetime({ offset: true }).meta({ description, format: 'date-time' });

const revisionName = (description: string) =>
  z
    .string()
    .max(63)
    .regex(/^[a-z0-9]+$/)
    .meta({ description });

/** metav1.Condition, with the bounds of its upstream OpenAPI schema. */
export const ConditionSchema = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
      )
      .meta({
        description:
          'Type of condition: Ready, Progressing, Degraded, BackendReachable or BackendSaturated.',
      }),
    status: z
      .enum(['True', 'False', 'Unknown'])
      .meta({ description: 'Status of the condition: True, False or Unknown.' }),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .meta({ description: 'The .metadata.generation the condition was set from.' }),
    lastTransitionTime: dateTime('Last time the condition changed from one status to another.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .meta({ description: 'A CamelCase reason for the last transition, for machines.' }),
    message: z
      .string()
      .max(32768)
      .meta({ description: 'A human-readable explanation of the last transition.' }),
  })
  .meta({ description: 'A metav1.Condition.' });

/** Remediation actions recorded in `status.history`; issue 5 may add more. */
export const REMEDIATION_ACTIONS = [
  'Rollback',
  'MemoryBump',
  'ScaleUp',
  'ScaleUpReverted',
  'PodRestart',
] as const;
export type RemediationAction = (typeof REMEDIATION_ACTIONS)[number];

/** At most this many remediation actions are kept; also bounds `maxActionsPerHour`. */
export const HISTORY_MAX_ITEMS = 20;

export const HistoryEntrySchema = z
  .object({
    time: dateTime('When the action was taken.'),
    action: z.enum(REMEDIATION_ACTIONS).meta({
      description:
        'What the operator did: Rollback, MemoryBump, ScaleUp, ScaleUpReverted or PodRestart.',
    }),
    reason: z.string().max(256).meta({
      description: 'The signal that triggered the action, e.g. CrashLoopBackOff or OOMKilled.',
    }),
    from: z.string().max(256).optional().meta({
      description: 'The value before the action (a revision, a memory limit, a replica count).',
    }),
    to: z.string().max(256).optional().meta({
      description: 'The value after the action.',
    }),
    revision: revisionName('The revision the action applied to.').optional(),
    message: z.string().max(1024).optional().meta({ description: 'Details for people.' }),
  })
  .meta({ description: 'One remediation action taken by the operator.' });

/** What remediation keeps in effect; each part is absent when not in effect. */
export const RemediationStateSchema = z
  .object({
    lastActionTime: dateTime(
      'Time of the last remediation action; the cooldown is counted from it.',
    ).optional(),
    rollback: z
      .object({
        toRevision: revisionName('The healthy revision whose pod template is being served.'),
        fromRevision: revisionName('The revision that failed and was rolled back.'),
        specGeneration: z.int().min(0).meta({
          description:
            'The .metadata.generation whose rollout failed; the failed revision is not retried until the generation changes.',
        }),
        since: dateTime('When the rollback was applied.'),
      })
      .optional()
      .meta({ description: 'Present while a rollback is in effect.' }),
    memoryBump: z
      .object({
        memoryLimit: z.string().max(64).meta({ description: 'The memory limit in effect.' }),
        specMemoryLimit: z.string().max(64).meta({
          description:
            'spec.resources.limits.memory the bump was computed from; a different value in the spec ends the bump.',
        }),
        since: dateTime('When the memory limit was last raised.'),
      })
      .optional()
      .meta({ description: 'Present while an OOMKilled memory bump is in effect.' }),
    scaleUp: z
      .object({
        replicas: z
          .int()
          .min(1)
          .meta({ description: 'The replica count (or HPA minimum) in effect.' }),
        since: dateTime('When the scale-up was applied.'),
        healthySince: dateTime(
          'Since when the workload has been healthy; the scale-up ends cooldownSeconds later.',
        ).optional(),
      })
      .optional()
      .meta({ description: 'Present while an emergency scale-up is in effect.' }),
    podRestart: z
      .object({
        pod: z.string().max(253).meta({ description: 'The pod to restart.' }),
        uid: z.string().max(64).meta({ description: 'Its uid: a replacement is never evicted.' }),
        since: dateTime('When the restart was decided.'),
      })
      .optional()
      .meta({
        description:
          'Present from the decision to restart a pod until that pod is gone (evicted through the Eviction API, which honours the PodDisruptionBudget).',
      }),
  })
  .meta({
    description: 'Remediation currently in effect, kept here so it survives operator restarts.',
  });

const count = (description: string) => z.int().min(0).meta({ description });
const figure = (description: string) => z.number().min(0).optional().meta({ description });

/** status.load.state, worst first. */
export const LOAD_STATES = ['BackendSaturated', 'Saturated', 'Busy', 'Calm', 'Unknown'] as const;
export type LoadState = (typeof LOAD_STATES)[number];

/** What a pod's own /metrics said at the last scrape (status.load.pods[].state). */
export const POD_LOAD_STATES = [
  'Saturated',
  'Busy',
  'Calm',
  'NoLoadMetrics',
  'Unreachable',
  'NotRunning',
] as const;
export type PodLoadState = (typeof POD_LOAD_STATES)[number];

/** At most this many pods are listed in status.load.pods (worst first). */
export const LOAD_PODS_MAX_ITEMS = 20;

const loadFigures = {
  inFlight: count('LM Studio calls in flight at the last scrape (lmstudio_calls_in_flight).'),
  concurrency: count('LM Studio calls allowed at once (lmstudio_concurrency_limit).'),
  queued: count('Requests waiting for admission at the last scrape (summary_queue_depth).'),
  saturationPercent: count(
    'Average share of the LM Studio slots in use since the previous scrape, in percent (time-weighted: busy slot-seconds / slot-seconds).',
  ),
  queueWaitP95Ms: figure('95th percentile of the wait for a slot since the previous scrape, ms.'),
  shedPerMinute: figure('Requests refused with 429 (queue full or wait too long), per minute.'),
  requestsPerMinute: figure('Summary requests answered, per minute.'),
  errorsPerMinute: figure('Summary requests answered 5xx, per minute.'),
  backendLatencyMs: figure(
    'Mean duration of an LM Studio chat call since the previous scrape, ms.',
  ),
  backendP95Ms: figure('95th percentile of LM Studio chat call durations, ms.'),
};

export const PodLoadSchema = z
  .object({
    name: z.string().max(253).meta({ description: 'The pod.' }),
    state: z.enum(POD_LOAD_STATES).meta({
      description:
        'Saturated, Busy or Calm from its metrics; NoLoadMetrics (its /metrics lacks the load metrics: an older image), Unreachable (no answer: network policy, overload, a hung process) or NotRunning.',
    }),
    ...loadFigures,
    message: z.string().max(512).optional().meta({ description: 'Why, for people.' }),
  })
  .meta({ description: "One pod's load, from its own /metrics." });

export const LoadStatusSchema = z
  .object({
    state: z.enum(LOAD_STATES).meta({
      description:
        "Saturated: the pods' queues are full or they shed while LM Studio keeps its usual latency (more pods help); BackendSaturated: LM Studio is the bottleneck (more pods would only deepen its queue); Busy; Calm; Unknown: no pod's load metrics could be read (message says why).",
    }),
    message: z.string().max(1024).meta({ description: 'The figures behind the state.' }),
    observedTime: dateTime('When the figures were scraped.').optional(),
    since: dateTime('Since when the state has held (as observed by this operator).').optional(),
    podsReporting: count('Pods whose load metrics were read.'),
    ...loadFigures,
    backendBaselineMs: figure(
      "LM Studio's usual chat call duration: the median under light load (at most one call in flight on average), ms.",
    ),
    pods: z
      .array(PodLoadSchema)
      .max(LOAD_PODS_MAX_ITEMS)
      .optional()
      .meta({ description: `Per pod, worst first, at most ${LOAD_PODS_MAX_ITEMS}.` }),
  })
  .meta({
    description:
      "Load read from the summarizer pods' own /metrics (queue, LM Studio slots, shedding, LM Studio latency and errors). Rewritten when the state changes, otherwise at most every two scrape intervals (30 s by default) while the figures move.",
  });

const quantityString = (description: string) => z.string().max(64).meta({ description });

export const RecommendationsSchema = z
  .object({
    message: z.string().max(1024).meta({
      description: 'What the advice is based on, or why there is none (metrics-server missing).',
    }),
    time: dateTime('When the advice last changed.').optional(),
    cpuObserved: quantityString(
      'CPU used per pod: the 95th percentile of the samples in the window.',
    ).optional(),
    memoryObserved: quantityString(
      'Memory needed per pod: the highest working set in the window.',
    ).optional(),
    oomKilled: z.boolean().optional().meta({
      description: 'A pod of this resource was OOMKilled: limits are advised at 2× requests.',
    }),
    resources: z
      .object({
        requests: z
          .object({ cpu: quantityString('CPU'), memory: quantityString('Memory') })
          .meta({ description: 'Advised spec.resources.requests.' }),
        limits: z
          .object({ cpu: quantityString('CPU'), memory: quantityString('Memory') })
          .meta({ description: 'Advised spec.resources.limits.' }),
      })
      .optional()
      .meta({
        description:
          "The advised spec.resources, by the runbook's rules: CPU requests ≈ 80 % of the CPU used, limits 2× requests; memory requests = need + 10 %, limits 1.5× (2× after OOMKilled). Never applied by the operator: `llmplanctl recommend` prints it as a patch.",
      }),
  })
  .meta({ description: 'Resource advice from metrics-server usage (metrics.k8s.io).' });

export const StatusSchema = z
  .object({
    observedGeneration: z.int().min(0).optional().meta({
      description: 'The .metadata.generation the operator last reconciled.',
    }),
    conditions: z
      .array(ConditionSchema)
      .max(16)
      .optional()
      .meta({
        description: 'Ready, Progressing, Degraded, BackendReachable and BackendSaturated.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    replicas: z
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Pods of the Deployment, any revision.' }),
    readyReplicas: z.int().min(0).optional().meta({ description: 'Ready pods of the Deployment.' }),
    selector: z.string().max(1024).optional().meta({
      description: 'Label selector of the pods, for the scale subresource.',
    }),
    currentRevision: revisionName(
      'The revision (pod-template hash) of the current spec; ControllerRevision <name>-<revision>.',
    ).optional(),
    lastHealthyRevision: revisionName(
      'The last revision whose rollout completed with all replicas updated and available.',
    ).optional(),
    failedRevision: revisionName(
      'The last revision judged failed; not retried until the spec changes.',
    ).optional(),
    endpoint: z.string().max(2048).optional().meta({ description: 'Where the service answers.' }),
    state: z
      .string()
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .optional()
      .meta({
        description:
          'One word for kubectl get: the reason of Degraded while it is True (the remediation in effect: RolledBack, MemoryBumped, ScaledUp; or RolloutFailed, OwnershipConflict, BackendUnreachable…), else Paused, Progressing, Ready, or the reason of Ready=False.',
      }),
    servedImageTag: z.string().max(256).optional().meta({
      description:
        "Tag (or digest) of the summarizer image the Deployment serves: spec.image.tag's, or an earlier one while a rollback is in effect.",
    }),
    load: LoadStatusSchema.optional(),
    recommendations: RecommendationsSchema.optional(),
    remediation: RemediationStateSchema.optional(),
    history: z
      .array(HistoryEntrySchema)
      .max(HISTORY_MAX_ITEMS)
      .optional()
      .meta({ description: `The last ${HISTORY_MAX_ITEMS} remediation actions, oldest first.` }),
  })
  .meta({ description: 'Observed state of the SummarizerService, written by the operator.' });

export type Condition = z.output<typeof ConditionSchema>;
export type ConditionStatus = Condition['status'];
export type HistoryEntry = z.output<typeof HistoryEntrySchema>;
export type RemediationState = z.output<typeof RemediationStateSchema>;
export type SummarizerServiceStatus = z.output<typeof StatusSchema>;
export type LoadStatus = z.output<typeof LoadStatusSchema>;
export type PodLoad = z.output<typeof PodLoadSchema>;
export type Recommendations = z.output<typeof RecommendationsSchema>;
