/**
 * Wiring only: environment → config → logger → service, and the signals.
 * Bad configuration: one CRITICAL line per bad variable, exit 1, never listens.
 * SIGTERM/SIGINT: stop accepting, finish in-flight and queued requests, exit 0.
 */
import { startService } from './app.js';
import { ConfigError, loadConfig, type ServiceConfig } from './config.js';
import { createLogger } from './logging.js';

function readConfig(): ServiceConfig {
  try {
    return loadConfig(process.env);
  } catch (error) {
    const logger = createLogger({ debug: false });
    process.on('exit', () => logger.flush());
    if (error instanceof ConfigError) {
      for (const problem of error.problems) {
        logger.fatal(
          { variable: problem.variable },
          `invalid configuration: ${problem.variable} ${problem.message}`,
        );
      }
    } else {
      logger.fatal({ err: error }, 'cannot read the configuration');
    }
    process.exit(1);
  }
}

const config = readConfig();
const logger = createLogger({ debug: config.debug });
// Batched lines reach stdout before any exit, process.exit included.
process.on('exit', () => logger.flush());

process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception; exiting');
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  logger.fatal({ err: reason }, 'unhandled promise rejection; exiting');
  process.exit(1);
});

try {
  const service = await startService(config, { logger });
  logger.info(
    {
      url: service.url,
      lmstudio: config.lmstudio.baseUrl,
      model: config.defaults.model,
      lmstudio_max_concurrency: config.admission.concurrency,
      max_queued_requests: config.admission.maxQueued,
    },
    `listening on ${service.url}`,
  );
  const stop = async (signal: NodeJS.Signals) => {
    logger.info(
      { signal, in_flight: service.state.inFlight, queued: service.admission.queued },
      `${signal} received: draining in-flight requests`,
    );
    const outcome = await service.shutdown();
    logger.info({ outcome }, `stopped (${outcome})`);
    process.exit(outcome === 'drained' ? 0 : 1);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  logger.fatal(
    { err: error, port: config.port },
    `cannot start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
