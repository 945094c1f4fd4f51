/**
 * Resource advice by the old runbook's tuning rules, pure: usage samples from
 * metrics-server in, advised spec.resources out (status.recommendations, printed as a patch
 * by `llmplanctl recommend`). Never applied by the operator: requests change scheduling,
 * and that is the user's call.
 *
 *   CPU:    requests ≈ 80 % of the CPU used (the 95th percentile of the samples), limits 2× requests
 *   memory: requests = the need (the highest working set) + 10 %, limits 1.5× requests —
 *           2× after an OOMKilled, and never below a limit the operator had to raise
 */
import { quantityValue } from '../api/quantity.js';
import type { Recommendations } from '../api/status.js';

/** One pod's usage at one time (the summarizer container). */
export interface UsageSample {
  time: number;
  pod: string;
  /** Cores. */
  cpu: number;
  /** Bytes (working set). */
  memory: number;
}

export const CPU_REQUEST_SHARE = 0.8;
export const CPU_LIMIT_FACTOR = 2;
export const MEMORY_HEADROOM = 1.1;
export const MEMORY_LIMIT_FACTOR = 1.5;
export const MEMORY_LIMIT_FACTOR_AFTER_OOM = 2;
/** Advice needs at least this many samples. */
export const MIN_SAMPLES = 3;
const MEBIBYTE = 2 ** 20;

export interface AdviceInput {
  samples: readonly UsageSample[];
  /** A pod was OOMKilled, or the operator raised the memory limit after one. */
  oomKilled: boolean;
  /** The memory limit in effect (the spec's, or a bump's). */
  memoryLimit?: string;
  /** What the window covers, for the message ("the last hour"). */
  window: string;
}

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? 0;
}

/** Rounded up to a multiple of `step`, ignoring floating-point dust (0.2 × 0.8 is 0.16…03). */
const upTo = (value: number, step: number) => Math.ceil(value / step - 1e-9) * step;
/** Millicores, rounded up to 5m (at least 10m). */
const millicores = (cores: number) => Math.max(10, upTo(cores * 1000, 5));
/** Mebibytes, rounded up to 4Mi. */
const mebibytes = (bytes: number) => upTo(bytes / MEBIBYTE, 4);

export function advise(input: AdviceInput): Recommendations {
  const { samples } = input;
  if (samples.length < MIN_SAMPLES) {
    return {
      message: `${samples.length} usage sample(s) from metrics-server so far; advice after ${MIN_SAMPLES}`,
    };
  }
  const cpuObserved = millicores(
    percentile(
      samples.map((s) => s.cpu),
      0.95,
    ),
  );
  const memoryObserved = mebibytes(Math.max(...samples.map((s) => s.memory)));
  const cpuRequest = millicores((cpuObserved / 1000) * CPU_REQUEST_SHARE);
  const memoryRequest = mebibytes(memoryObserved * MEBIBYTE * MEMORY_HEADROOM);
  const factor = input.oomKilled ? MEMORY_LIMIT_FACTOR_AFTER_OOM : MEMORY_LIMIT_FACTOR;
  let memoryLimit = mebibytes(memoryRequest * MEBIBYTE * factor);
  const raised =
    input.oomKilled && input.memoryLimit ? quantityValue(input.memoryLimit) : undefined;
  if (raised !== undefined) memoryLimit = Math.max(memoryLimit, mebibytes(raised));
  const pods = new Set(samples.map((s) => s.pod)).size;
  return {
    message: `from ${pods} pod(s) over ${input.window} (metrics-server): CPU p95 ${cpuObserved}m, memory peak ${memoryObserved}Mi per pod${input.oomKilled ? '; OOMKilled before: memory limit 2× requests' : ''}`,
    cpuObserved: `${cpuObserved}m`,
    memoryObserved: `${memoryObserved}Mi`,
    oomKilled: input.oomKilled,
    resources: {
      requests: { cpu: `${cpuRequest}m`, memory: `${memoryRequest}Mi` },
      limits: { cpu: `${cpuRequest * CPU_LIMIT_FACTOR}m`, memory: `${memoryLimit}Mi` },
    },
  };
}
