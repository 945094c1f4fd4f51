/**
 * client-go's `retry.RetryOnConflict` for writes guarded by a resourceVersion: the attempt
 * reads, judges and writes with the resourceVersion it read; a 409 Conflict (somebody wrote
 * the object in between, often only its controller's status) runs it again after a short
 * pause. Any other error, and the last 409, go to the caller.
 */
import { Backoff, type BackoffPolicy, sleep } from './backoff.js';
import { isConflict } from './errors.js';

/** client-go's `retry.DefaultRetry`: 5 attempts, about 10 ms apart. */
export const defaultConflictRetry: { steps: number; backoff: BackoffPolicy } = {
  steps: 5,
  backoff: { initialMs: 10, maxMs: 10, factor: 1, jitter: 0.1 },
};

export async function retryOnConflict<T>(
  attempt: (n: number) => Promise<T>,
  retry: { steps: number; backoff: BackoffPolicy } = defaultConflictRetry,
): Promise<T> {
  const backoff = new Backoff(retry.backoff);
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isConflict(err) || n + 1 >= retry.steps) throw err;
      await sleep(backoff.next());
    }
  }
}
