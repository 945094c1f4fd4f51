/**
 * The revision history of what the operator deployed: one apps/v1 ControllerRevision per
 * distinct pod template of the spec, owned by the SummarizerService. Pure helpers only —
 * building a revision object, reading one back, choosing what to prune — shared by the
 * reconciler, remediation and llmplanctl, so the format is spelled once.
 *
 *   name      <cr name>-<template hash>          (the hash is the revision's identity and
 *   labels    standard + llmplan.io/template-hash  what status.*Revision fields hold)
 *   revision  1, 2, 3 … in order of first deployment (a template that comes back keeps its number)
 *   data      {podTemplate, configData, spec, generation}: enough to serve the template
 *             again (rollback) and to write the spec back (`llmplanctl rollback`)
 *   annotations llmplan.io/health = healthy | failed, with the time and reason it was judged
 */
import type { V1ControllerRevision, V1PodTemplateSpec } from '@kubernetes/client-node';
import { CONTAINER_NAME, childNames } from '../api/labels.js';
import type { SummarizerServiceSpec } from '../api/spec.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import { childMetadata } from '../desired/children.js';
import type { ConfigData } from '../desired/configmap.js';

export const REVISION_LABEL = 'llmplan.io/template-hash';

export const REVISION_ANNOTATIONS = {
  health: 'llmplan.io/health',
  healthTime: 'llmplan.io/health-time',
  healthReason: 'llmplan.io/health-reason',
} as const;

export type RevisionHealth = 'healthy' | 'failed' | 'unknown';

/** What a ControllerRevision's `data` holds. */
export interface RevisionData {
  podTemplate: V1PodTemplateSpec;
  configData: ConfigData;
  /** The spec as it was when this revision was first deployed. */
  spec: SummarizerServiceSpec;
  generation: number;
}

/** A ControllerRevision, read back. */
export interface Revision {
  name: string;
  hash: string;
  number: number;
  createdAt?: string;
  image?: string;
  health: RevisionHealth;
  healthTime?: string;
  healthReason?: string;
  data: RevisionData;
}

/** The ControllerRevision to create for the spec's current template. */
export function buildRevision(
  cr: SummarizerService,
  hash: string,
  number: number,
  data: RevisionData,
): V1ControllerRevision & { metadata: { name: string; namespace: string } } {
  const metadata = childMetadata(cr, childNames.controllerRevision(cr.metadata.name, hash));
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { ...metadata, labels: { ...metadata.labels, [REVISION_LABEL]: hash } },
    revision: number,
    data,
  };
}

/** Reads a ControllerRevision written by buildRevision; undefined for anything else. */
export function readRevision(object: V1ControllerRevision): Revision | undefined {
  const hash = object.metadata?.labels?.[REVISION_LABEL];
  const data = object.data as Partial<RevisionData> | undefined;
  if (!hash || !data?.podTemplate || !data.spec) return undefined;
  const annotations = object.metadata?.annotations ?? {};
  const health = annotations[REVISION_ANNOTATIONS.health];
  return {
    name: object.metadata?.name ?? '',
    hash,
    number: Number(object.revision ?? 0),
    createdAt: object.metadata?.creationTimestamp
      ? new Date(object.metadata.creationTimestamp).toISOString()
      : undefined,
    image: imageOf(data.podTemplate),
    health: health === 'healthy' || health === 'failed' ? health : 'unknown',
    healthTime: annotations[REVISION_ANNOTATIONS.healthTime],
    healthReason: annotations[REVISION_ANNOTATIONS.healthReason],
    data: {
      podTemplate: data.podTemplate,
      configData: data.configData ?? {},
      spec: data.spec,
      generation: data.generation ?? 0,
    },
  };
}

export function imageOf(template: V1PodTemplateSpec): string | undefined {
  return template.spec?.containers.find((c) => c.name === CONTAINER_NAME)?.image;
}

/** The number a new (or returning) revision gets: one past the highest. */
export function nextRevisionNumber(revisions: readonly Revision[]): number {
  return revisions.reduce((max, r) => Math.max(max, r.number), 0) + 1;
}

/**
 * Revisions to delete so that at most `limit` remain, oldest first — never one that is in
 * use (`keep`: the current, last healthy and served revisions).
 */
export function revisionsToPrune(
  revisions: readonly Revision[],
  limit: number,
  keep: ReadonlySet<string>,
): Revision[] {
  const excess = revisions.length - limit;
  if (excess <= 0) return [];
  return [...revisions]
    .sort((a, b) => a.number - b.number)
    .filter((r) => !keep.has(r.hash))
    .slice(0, excess);
}
