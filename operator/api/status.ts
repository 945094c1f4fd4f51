/**
 * SummarizerService `status` (SPEC §2.1), written only by the operator through the status
 * subresource. The remediation part records what the operator did and what is still in
 * effect, so that decisions are rebuilt from cluster state after a restart or a leader
 * change (issue 5) instead of living in memory.
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
        description: 'Type of condition: Ready, Progressing, Degraded or BackendReachable.',
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
] as const;
export type RemediationAction = (typeof REMEDIATION_ACTIONS)[number];

/** At most this many remediation actions are kept; also bounds `maxActionsPerHour`. */
export const HISTORY_MAX_ITEMS = 20;

export const HistoryEntrySchema = z
  .object({
    time: dateTime('When the action was taken.'),
    action: z.enum(REMEDIATION_ACTIONS).meta({
      description: 'What the operator did: Rollback, MemoryBump, ScaleUp or ScaleUpReverted.',
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
  })
  .meta({
    description: 'Remediation currently in effect, kept here so it survives operator restarts.',
  });

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
        description: 'Ready, Progressing, Degraded and BackendReachable.',
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
