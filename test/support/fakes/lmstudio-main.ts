/**
 * Runs the fake LM Studio standalone:
 *   npm run fake-lmstudio -- --port 1234 --latency-ms 300 --model qwen/qwen3-4b
 * `--fixed-reply TEXT` answers every completion with TEXT without parsing the request (benchmarks);
 * `--max-parallel N` predicts N completions at once and queues the rest, as LM Studio does.
 * Prints one line `fake LM Studio listening on <base url>` once it accepts connections.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_FAKE_MODEL, FakeLmStudio } from './lmstudio.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '1234' },
    host: { type: 'string', default: '127.0.0.1' },
    'latency-ms': { type: 'string', default: '0' },
    model: { type: 'string', multiple: true, default: [DEFAULT_FAKE_MODEL] },
    'fixed-reply': { type: 'string' },
    'max-parallel': { type: 'string' },
  },
});

const port = Number(values.port);
const latencyMs = Number(values['latency-ms']);
const maxParallel =
  values['max-parallel'] === undefined ? undefined : Number(values['max-parallel']);
if (
  !Number.isInteger(port) ||
  port < 0 ||
  port > 65_535 ||
  !(latencyMs >= 0) ||
  (maxParallel !== undefined && !(Number.isInteger(maxParallel) && maxParallel > 0))
) {
  console.error(
    'usage: lmstudio-main [--port N] [--host H] [--latency-ms N] [--model ID ...] [--fixed-reply TEXT] [--max-parallel N]',
  );
  process.exit(2);
}

const fake = await FakeLmStudio.start({
  port,
  host: values.host,
  latencyMs,
  models: values.model,
  keepRequests: 0,
  ...(maxParallel === undefined ? {} : { maxParallel }),
  ...(values['fixed-reply'] === undefined ? {} : { fixedReply: values['fixed-reply'] }),
});
console.log(`fake LM Studio listening on ${fake.baseUrl}`);

const stop = async () => {
  await fake.stop();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
