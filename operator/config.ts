/**
 * The operator's own options, from flags or environment (flags win). Every
 * option has an env name so the Deployment in deploy/ can set it, and a flag so
 * `npm run operator -- --namespaces=dev` works on a laptop.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const address = z
  .string()
  .regex(/^[^\s:]*:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:8080 (port 0 picks a free one)');

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** name → [env variable, flag, schema, default]: the one table of options. */
const OPTIONS = {
  namespaces: ['LLMPLAN_NAMESPACES', 'namespaces', z.string(), ''],
  leaderElect: ['LLMPLAN_LEADER_ELECT', 'leader-elect', bool, 'false'],
  leaseName: ['LLMPLAN_LEASE_NAME', 'lease-name', z.string().min(1), 'llmplan-operator'],
  leaseNamespace: [
    'LLMPLAN_LEASE_NAMESPACE',
    'lease-namespace',
    z.string().min(1),
    'llmplan-system',
  ],
  identity: ['LLMPLAN_POD_NAME', 'identity', z.string(), ''],
  /** One server for /metrics, /healthz and /readyz. */
  bindAddress: ['LLMPLAN_BIND_ADDRESS', 'bind-address', address, '127.0.0.1:8080'],
  logLevel: [
    'LLMPLAN_LOG_LEVEL',
    'log-level',
    z.enum(['trace', 'debug', 'info', 'warn', 'error']),
    'info',
  ],
  defaultImage: [
    'LLMPLAN_DEFAULT_IMAGE',
    'default-image',
    z.string().min(1),
    'ghcr.io/llmplan/summarizer',
  ],
  workers: ['LLMPLAN_WORKERS', 'workers', z.coerce.number().int().min(1).max(64), '8'],
  resyncSeconds: ['LLMPLAN_RESYNC_SECONDS', 'resync-seconds', seconds(10, 86_400), '600'],
  backendProbe: ['LLMPLAN_BACKEND_PROBE', 'backend-probe', bool, 'true'],
  backendProbeSeconds: [
    'LLMPLAN_BACKEND_PROBE_SECONDS',
    'backend-probe-seconds',
    seconds(1, 3600),
    '30',
  ],
  /**
   * How the load monitor reads the pods' /metrics: auto (pod IP in the cluster, the API
   * server's pod proxy outside it), pod-ip, apiserver, off, or the base URL of a
   * `kubectl proxy` (anything serving /api/v1/namespaces/N/pods/P:port/proxy/metrics).
   */
  loadScrape: [
    'LLMPLAN_LOAD_SCRAPE',
    'load-scrape',
    z.union([
      z.enum(['auto', 'pod-ip', 'apiserver', 'off']),
      z.url({
        protocol: /^https?$/,
        error: 'must be auto, pod-ip, apiserver, off or an http(s) URL',
      }),
    ]),
    'auto',
  ],
  loadScrapeSeconds: ['LLMPLAN_LOAD_SCRAPE_SECONDS', 'load-scrape-seconds', seconds(1, 600), '15'],
  /** How often metrics-server's usage is read for status.recommendations; 0: never. */
  usageSeconds: ['LLMPLAN_USAGE_SECONDS', 'usage-seconds', seconds(0, 3600), '60'],
  qps: ['LLMPLAN_KUBE_QPS', 'kube-qps', z.coerce.number().positive().max(10_000), '200'],
  burst: [
    'LLMPLAN_KUBE_BURST',
    'kube-burst',
    z.coerce.number().int().positive().max(20_000),
    '400',
  ],
} as const;

type OptionName = keyof typeof OPTIONS;
export type OperatorConfig = {
  [K in OptionName]: z.output<(typeof OPTIONS)[K][2]>;
} & { watchedNamespaces: string[] };

/** Thrown for a bad option; the message names the flag and the variable. */
export class ConfigError extends Error {}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const flagSpec = Object.fromEntries(
    Object.values(OPTIONS).map(([, flag]) => [flag, { type: 'string' as const }]),
  );
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({ args: [...argv], options: flagSpec, strict: true, allowPositionals: false })
      .values as Record<string, string | undefined>;
  } catch (error) {
    throw new ConfigError(
      `${(error as Error).message}; known flags: ${Object.values(OPTIONS)
        .map(([, f]) => `--${f}`)
        .join(' ')}`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const [name, [envName, flag, schema, fallback]] of Object.entries(OPTIONS)) {
    const raw = flags[flag] ?? env[envName] ?? fallback;
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join('; ');
      throw new ConfigError(`invalid --${flag} / ${envName}=${JSON.stringify(raw)}: ${why}`);
    }
    out[name] = parsed.data;
  }
  const config = out as OperatorConfig;
  config.watchedNamespaces = config.namespaces
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (!config.identity) {
    config.identity = `${hostname()}_${process.pid}`;
  }
  return config;
}
