/**
 * The ConfigMap `<name>-config`: the service's variables (docs/api.md#configuration) except
 * the API key (which comes from a Secret) and the admission settings the spec leaves at the
 * service's defaults. Names and the container port come from contract/env.ts, the contract
 * the service parses at start.
 */
import { ENV, ENV_DEFAULTS } from '../../contract/env.js';
import type { SummarizerService } from '../api/summarizerservice.js';

/** The container listens here; the Service's `port` maps onto it (docs/resource.md). */
export const CONTAINER_PORT = ENV_DEFAULTS.port;

export type ConfigData = Record<string, string>;

/** `http://<serviceName>:<port>/v1`: the ExternalName Service (or an in-cluster one). */
export function lmstudioBaseUrl(cr: SummarizerService): string {
  const { serviceName, port } = cr.spec.lmstudio;
  return `http://${serviceName}:${port}/v1`;
}

export function desiredConfigData(cr: SummarizerService): ConfigData {
  const { lmstudio, summary, debug } = cr.spec;
  return {
    [ENV.port]: String(CONTAINER_PORT),
    [ENV.lmstudioBaseUrl]: lmstudioBaseUrl(cr),
    [ENV.lmstudioTimeout]: String(lmstudio.timeoutSeconds),
    [ENV.lmstudioMaxRetries]: String(lmstudio.maxRetries),
    [ENV.defaultModelName]: summary.defaultModel,
    [ENV.defaultMaxTokens]: String(summary.defaultMaxTokens),
    [ENV.defaultTemperature]: String(summary.defaultTemperature),
    [ENV.defaultSummaryType]: summary.defaultSummaryType,
    [ENV.defaultLanguage]: summary.defaultLanguage,
    [ENV.debug]: String(debug),
    // Only when it differs from the service's own default: the data hashes into the pod
    // template, and an operator upgrade that added the key would roll every pod once.
    ...(lmstudio.maxConcurrency !== ENV_DEFAULTS.lmstudioMaxConcurrency
      ? { [ENV.lmstudioMaxConcurrency]: String(lmstudio.maxConcurrency) }
      : {}),
  };
}
