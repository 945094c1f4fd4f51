/**
 * `npm run demo:service`: the fake LM Studio on 127.0.0.1:1234 and the service
 * on 127.0.0.1:8000 pointed at it, in this one process. Ctrl-C stops both.
 */

import { ENV, SERVICE_ENV } from '../../../contract/env.js';
import { startService } from '../../../service/app.js';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/logging.js';
import { FakeLmStudio } from './lmstudio.js';

const fake = await FakeLmStudio.start({ port: 1234, latencyMs: 200 });
const config = loadConfig({
  ...process.env,
  [ENV.lmstudioBaseUrl]: fake.baseUrl,
  [ENV.port]: process.env[ENV.port] ?? '8000',
  [SERVICE_ENV.host]: '127.0.0.1',
});
const service = await startService(config, { logger: createLogger({ debug: config.debug }) });

const body = JSON.stringify({
  text: '서울은 대한민국의 수도이다. 한강이 도시를 가로지른다. 인구는 약 천만 명이다.',
  summary_type: 'concise',
  language: 'korean',
});
console.error(`
fake LM Studio: ${fake.baseUrl}   service: ${service.url}
Try:
  curl -s ${service.url}/api/v1/summary/ -H 'content-type: application/json' -d '${body}'
  curl -s ${service.url}/api/v1/summary/health
Ctrl-C stops both.
`);

const stop = async () => {
  await service.shutdown();
  await fake.stop();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
