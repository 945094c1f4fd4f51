/**
 * One resource's load, round after round — pure: what a round of scrapes adds to what was
 * known (each pod's interval against its previous sample, then the judged round). The
 * monitor keeps one per resource; the tests replay recorded rounds through the same function.
 */
import { addRound, emptyHistory, type LoadHistory } from './history.js';
import { podInterval } from './interval.js';
import type { PodObservation } from './round.js';
import type { PodSample } from './sample.js';

export interface Tracked {
  history: LoadHistory;
  /** Each pod's last sample, by uid; pods not seen in the last round are forgotten. */
  samples: ReadonlyMap<string, PodSample>;
}

export function startTracking(seededBaselineSeconds?: number): Tracked {
  return { history: emptyHistory(seededBaselineSeconds), samples: new Map() };
}

export function track(
  tracked: Tracked,
  observed: readonly PodObservation[],
  time: number,
): Tracked {
  const samples = new Map<string, PodSample>();
  const pods = observed.map((obs): PodObservation => {
    if (obs.kind !== 'metrics') return obs;
    samples.set(obs.uid, obs.sample);
    const previous = tracked.samples.get(obs.uid);
    const result = previous ? podInterval(previous, obs.sample) : undefined;
    return result?.ok ? { ...obs, interval: result.interval } : obs;
  });
  return { history: addRound(tracked.history, { time, pods }), samples };
}
