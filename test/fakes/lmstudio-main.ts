/**
 * Runs the fake LM Studio standalone:
 *   npm run fake-lmstudio -- --port 1234 --latency-ms 300 --model qwen/qwen3-4b
 * `--fixed-reply TEXT` answers every completion with TEXT without parsing the request (benchmarks).
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
  },
});

const port = Number(values.port);
const latencyMs = Number(values['latency-ms']);
if (!Number.isInteger(port) || port < 0 || port > 65_535 || !(latencyMs >= 0)) {
  console.error(
    'usage: lmstudio-main [--port N] [--host H] [--latency-ms N] [--model ID ...] [--fixed-reply TEXT]',
  );
  process.exit(2);
}

const fake = await FakeLmStudio.start({
  port,
  host: values.host,
  latencyMs,
  models: values.model,
  keepRequests: 0,
  ...(values['fixed-reply'] === undefined ? {} : { fixedReply: values['fixed-reply'] }),
});
console.log(`fake LM Studio listening on ${fake.baseUrl}`);

const stop = async () => {
  await fake.stop();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
