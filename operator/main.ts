/**
 * The llmplan operator's entry point: wiring only. config → logger → manager →
 * SummarizerService controller → start. Exit code 0 after a clean SIGTERM, 1 when
 * something stops it (lost leadership included: a restarted process campaigns afresh),
 * 2 for bad options.
 */
import { pino } from 'pino';
import { FIELD_MANAGER } from './api/labels.js';
import { ConfigError, loadConfig } from './config.js';
import { BackendProber } from './reconcile/backend.js';
import { setupSummarizerController } from './reconcile/controller.js';
import { errorFields, loadClusterAccess, Manager } from './runtime/index.js';

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
const manager = new Manager({
  kubeConfig: loadClusterAccess(),
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
});

logger.info(
  {
    namespaces: config.watchedNamespaces.length > 0 ? config.watchedNamespaces : 'all',
    leaderElection: config.leaderElect,
    identity: config.identity,
    inCluster,
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
