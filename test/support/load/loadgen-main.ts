/**
 * The load generator as a program (the kind tests run it in a pod next to the summarizer):
 *   loadgen-main --url http://llmplan:8000 --concurrency 16 [--seconds 600] [--fresh-connections]
 * Prints `load started` once running, and one JSON line of stats when done (the time is up,
 * or SIGTERM: deleting the pod stops the load).
 */
import { parseArgs } from 'node:util';
import { runLoad } from './loadgen.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', multiple: true, default: [] },
    concurrency: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '600' },
    'fresh-connections': { type: 'boolean', default: false },
  },
});
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);
if (
  values.url.length === 0 ||
  !Number.isInteger(concurrency) ||
  concurrency < 1 ||
  !(seconds > 0)
) {
  console.error('usage: loadgen-main --url URL [--url URL…] [--concurrency N] [--seconds S]');
  process.exit(2);
}
const stop = new AbortController();
const timer = setTimeout(() => stop.abort(), seconds * 1000);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
console.log(
  `load started: ${concurrency} clients → ${values.url.join(', ')} for at most ${seconds} s`,
);
const stats = await runLoad({
  urls: values.url,
  concurrency,
  signal: stop.signal,
  freshConnections: values['fresh-connections'],
});
clearTimeout(timer);
console.log(JSON.stringify(stats));
