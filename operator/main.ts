/**
 * The llmplan operator's entry point: wiring only. config → logger → manager →
 * SummarizerService controller → start. Exit code 0 after a clean SIGTERM, 1 when
 * something stops it (lost leadership included: a restarted process campaigns afresh),
 * 2 for bad options.
 */
import { pino } from 'pino';
import { FIELD_MANAGER } from './api/labels.js';
import { ConfigError, loadConfig } from './config.js';
import { type ScrapeMode, scraperFor } from './load/scrape.js';
import { BackendProber } from './reconcile/backend.js';
import { setupSummarizerController } from './reconcile/controller.js';
import { errorFields, KubeClient, loadClusterAccess, Manager } from './runtime/index.js';

const logger = pino({
  base: { component: 'llmplan-operator' },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  logger.fatal({ error: error.message }, 'invalid configuration');
  process.exit(2);
}
logger.level = config.logLevel;

const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST) && !process.env.KUBECONFIG;
const access = loadClusterAccess();
const manager = new Manager({
  kubeConfig: access,
  logger,
  client: {
    fieldManager: FIELD_MANAGER,
    qps: config.qps,
    burst: config.burst,
    userAgent: 'llmplan-operator/0.1.0',
  },
  bindAddress: config.bindAddress,
  leaderElection: config.leaderElect
    ? { namespace: config.leaseNamespace, name: config.leaseName, identity: config.identity }
    : false,
  informerDefaults: { resyncPeriodMs: config.resyncSeconds * 1000 },
});

setupSummarizerController(manager, {
  namespaces: config.watchedNamespaces,
  workers: config.workers,
  defaultImage: config.defaultImage,
  inCluster,
  prober: config.backendProbe
    ? new BackendProber({ intervalMs: config.backendProbeSeconds * 1000 })
    : undefined,
  load: loadSetup(),
  usageIntervalMs: config.usageSeconds * 1000,
});

/** The load monitor's way to the pods (LLMPLAN_LOAD_SCRAPE), or why there is none. */
function loadSetup() {
  const mode = config.loadScrape;
  if (mode === 'off') {
    return { off: 'load metrics are not read: the operator runs with LLMPLAN_LOAD_SCRAPE=off' };
  }
  const scrapeMode: ScrapeMode =
    mode === 'pod-ip' || (mode === 'auto' && inCluster)
      ? { kind: 'pod-ip' }
      : mode === 'apiserver' || mode === 'auto'
        ? {
            kind: 'apiserver',
            // Its own rate limit: scrapes never hold back the reconciles' requests.
            client: new KubeClient(access, {
              qps: 50,
              burst: 100,
              metrics: manager.metrics,
              userAgent: 'llmplan-operator/0.1.0 (load)',
            }),
          }
        : { kind: 'proxy', baseUrl: mode };
  const intervalMs = config.loadScrapeSeconds * 1000;
  return {
    scraper: scraperFor(scrapeMode),
    intervalMs,
    timeoutMs: Math.min(3000, Math.max(500, intervalMs * 0.6)),
    concurrency: 16,
  };
}

logger.info(
  {
    namespaces: config.watchedNamespaces.length > 0 ? config.watchedNamespaces : 'all',
    leaderElection: config.leaderElect,
    identity: config.identity,
    inCluster,
    loadScrape: config.loadScrape,
  },
  'llmplan operator starting',
);
manager.start().then(
  () => process.exit(0),
  (error: unknown) => {
    logger.error(errorFields(error), 'operator stopped');
    process.exit(1);
  },
);
