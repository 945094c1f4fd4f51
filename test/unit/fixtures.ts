/**
 * A parsed SummarizerService for unit tests: defaults applied as the API server would,
 * with the metadata a live object has (uid, namespace, generation).
 */
import {
  parseSummarizerService,
  type SummarizerService,
  type SummarizerServiceInput,
} from '../../operator/api/summarizerservice.js';

export const TEST_UID = '0b5c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3';
export const DEFAULT_IMAGE = 'ghcr.io/llmplan/summarizer:v0.1.0';

export function summarizerService(
  spec: SummarizerServiceInput['spec'] = {},
  metadata: Partial<SummarizerServiceInput['metadata']> = {},
  status?: SummarizerServiceInput['status'],
): SummarizerService {
  return parseSummarizerService({
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    metadata: {
      name: 'llmplan',
      namespace: 'llmplan-dev',
      uid: TEST_UID,
      generation: 1,
      ...metadata,
    },
    spec,
    ...(status ? { status } : {}),
  });
}
