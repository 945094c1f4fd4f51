/**
 * Load judgements by hand, for the tests of what remediation decides about them
 * (decide.test.ts); the judgement itself is tested on recorded series (scenarios.test.ts).
 */
import type { LoadState } from '../api/status.js';
import type { LoadJudgement } from './judge.js';
import type { ProblemPod } from './problem-pod.js';
import { type BackendState, noFigures, type RoundFigures } from './round.js';

const figures: RoundFigures = {
  ...noFigures(),
  podsReporting: 2,
  concurrency: 8,
  queueCapacity: 128,
};

export function judgement(
  state: LoadState,
  options: {
    saturatedForMs?: number;
    backend?: BackendState;
    calm?: boolean;
    problemPod?: ProblemPod;
    now?: number;
  } = {},
): LoadJudgement {
  const backend: BackendState = options.backend ?? { state: 'normal', ratio: 1 };
  return {
    state,
    saturatedForMs: options.saturatedForMs ?? 0,
    calm: options.calm ?? (state === 'Calm' || state === 'Busy' || state === 'Unknown'),
    latest: { time: options.now ?? 0, state, figures, backend },
    pods: [],
    message: `${state} (test)`,
    ...(options.problemPod ? { problemPod: options.problemPod } : {}),
  };
}
