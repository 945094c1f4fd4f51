/**
 * Remediation state (status.remediation) → what the desired state must serve instead of
 * the spec. Pure; the reconciler passes the result to desiredState as `overrides`.
 */
import type { RemediationState } from '../api/status.js';
import type { RemediationOverrides } from '../desired/state.js';
import type { Revision } from './revisions.js';

export function overridesFrom(
  state: RemediationState | undefined,
  revisions: ReadonlyMap<string, Revision>,
): RemediationOverrides {
  const overrides: RemediationOverrides = {};
  const target = state?.rollback ? revisions.get(state.rollback.toRevision) : undefined;
  if (target) {
    overrides.podTemplate = target.data.podTemplate;
    overrides.configData = target.data.configData;
  }
  if (state?.memoryBump) overrides.memoryLimit = state.memoryBump.memoryLimit;
  if (state?.scaleUp) overrides.replicas = state.scaleUp.replicas;
  return overrides;
}
