/**
 * Stable content hashes. A pod template's hash is its revision identity (issue 5: one
 * ControllerRevision per distinct template), so it must not depend on key order or on
 * which process computed it: canonical JSON (sorted keys, undefined dropped) → sha256.
 */
import { createHash } from 'node:crypto';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { canonicalJson } from '../runtime/index.js';

export { canonicalJson };

/** Length of the hex hashes used in names and annotations. */
export const HASH_LENGTH = 10;

/** First HASH_LENGTH hex digits of sha256(canonical JSON): lowercase, a valid name part. */
export function shortHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, HASH_LENGTH);
}

/** Revision identity of a pod template. */
export function podTemplateHash(template: V1PodTemplateSpec): string {
  return shortHash(template);
}

/** Hash of ConfigMap data, put on the pod template so a config change rolls the pods. */
export function configHash(data: Readonly<Record<string, string>>): string {
  return shortHash(data);
}
