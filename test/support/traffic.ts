/**
 * A client inside the kind cluster that sends summaries continuously through a Service (its
 * ClusterIP, as every in-cluster client does), one at a time, a new connection each (like the
 * runbook's curl), and logs one JSON line per request. The test reads the lines after
 * stopping it: every request, its status, its time.
 */
import { latencies } from '../bench/operator-metrics.js';
import { kindImages } from './kind.js';
import { kubectlOk } from './kube.js';

/** Runs in the summarizer image's Node (CommonJS, `node -e`). */
const CLIENT = `
const http = require('node:http');
const target = new URL(process.env.TARGET);
const body = JSON.stringify({
  text: 'Kubernetes replaces pods one at a time so that a service keeps answering while its deployment changes.',
  language: 'english',
  summary_type: 'concise',
  max_tokens: 50,
});
let stop = false;
process.on('SIGTERM', () => { stop = true; });
const once = () => new Promise((resolve) => {
  const started = Date.now();
  const done = (r) => resolve({ at: new Date(started).toISOString(), ms: Date.now() - started, ...r });
  const req = http.request({
    host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent: false,
    timeout: 120000,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' },
  }, (res) => {
    let data = '';
    res.on('data', (c) => { data += c; });
    res.on('end', () => done(res.statusCode === 200 ? { status: 200 } : { status: res.statusCode, body: data.slice(0, 300) }));
    res.on('error', (e) => done({ error: String(e.code || e.message) }));
  });
  req.on('timeout', () => req.destroy(new Error('client timeout after 120 s')));
  req.on('error', (e) => done({ error: String(e.code || e.message) }));
  req.end(body);
});
(async () => {
  while (!stop) console.log(JSON.stringify(await once()));
  console.log(JSON.stringify({ stopped: true }));
})();
`;

export interface Request {
  at: string;
  ms: number;
  status?: number;
  error?: string;
  body?: string;
}

export interface Traffic {
  /** The requests so far (kubectl logs). */
  requests(): Promise<Request[]>;
  /** Stops the client after its current request; resolves with every request it sent. */
  stop(): Promise<Request[]>;
}

const parse = (logs: string): Request[] =>
  logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Request & { stopped?: boolean })
    .filter((r) => !r.stopped);

export async function startTraffic(namespace: string, url: string): Promise<Traffic> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'traffic', namespace, labels: { 'app.kubernetes.io/name': 'traffic' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 150,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'client',
          image: kindImages().service,
          command: ['node', '-e', CLIENT],
          env: [{ name: 'TARGET', value: url }],
          resources: { requests: { cpu: '10m', memory: '32Mi' } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
  await kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(pod) });
  await kubectlOk([
    'wait',
    '-n',
    namespace,
    'pod/traffic',
    '--for=condition=Ready',
    '--timeout=120s',
  ]);
  const requests = async () => parse(await kubectlOk(['logs', '-n', namespace, 'traffic']));
  return {
    requests,
    async stop() {
      await kubectlOk(['exec', '-n', namespace, 'traffic', '--', 'sh', '-c', 'kill -TERM 1']);
      await kubectlOk([
        'wait',
        '-n',
        namespace,
        'pod/traffic',
        '--for=jsonpath={.status.phase}=Succeeded',
        '--timeout=150s',
      ]);
      return requests();
    },
  };
}

/** Requests sent in [from, to] (ms since the epoch), and those of them that failed. */
export function window(requests: readonly Request[], from: number, to: number) {
  const within = requests.filter((r) => {
    const at = Date.parse(r.at);
    return at >= from && at <= to;
  });
  return { sent: within, failed: within.filter((r) => r.status !== 200) };
}

/** How many requests, how many failed, and their latencies (ms), for the report. */
export function summary(requests: readonly Request[]) {
  return {
    failed: requests.filter((r) => r.status !== 200).length,
    ...latencies(requests.map((r) => r.ms)),
  };
}
