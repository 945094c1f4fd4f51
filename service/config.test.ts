import { describe, expect, it } from 'vitest';
import { ENV, ENV_DEFAULTS, SERVICE_ENV, SERVICE_ENV_DEFAULTS } from '../contract/env.js';
import { ConfigError, loadConfig } from './config.js';

function problemsOf(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults (docs/api.md) to an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(ENV_DEFAULTS.port);
    expect(config.lmstudio).toMatchObject({
      baseUrl: ENV_DEFAULTS.lmstudioBaseUrl,
      apiKey: undefined,
      timeoutMs: ENV_DEFAULTS.lmstudioTimeoutSeconds * 1000,
      maxRetries: ENV_DEFAULTS.lmstudioMaxRetries,
    });
    expect(config.defaults).toEqual({
      model: ENV_DEFAULTS.defaultModelName,
      maxTokens: ENV_DEFAULTS.defaultMaxTokens,
      temperature: ENV_DEFAULTS.defaultTemperature,
      summaryType: ENV_DEFAULTS.defaultSummaryType,
      language: ENV_DEFAULTS.defaultLanguage,
    });
    expect(config.debug).toBe(false);
    expect(config.admission).toEqual({
      concurrency: ENV_DEFAULTS.lmstudioMaxConcurrency,
      maxQueued: ENV_DEFAULTS.maxQueuedRequests,
      queueTimeoutMs: ENV_DEFAULTS.queueTimeoutSeconds * 1000,
    });
    expect(config.lmstudio.contextLength).toBeUndefined();
    expect(config.lmstudio.loadTimeoutMs).toBe(SERVICE_ENV_DEFAULTS.loadTimeoutSeconds * 1000);
    expect(config.chunkChars).toBe(SERVICE_ENV_DEFAULTS.chunkChars);
    expect(config.http).toEqual({
      headersTimeoutMs: ENV_DEFAULTS.httpHeadersTimeoutSeconds * 1000,
      requestTimeoutMs: ENV_DEFAULTS.httpRequestTimeoutSeconds * 1000,
      keepAliveTimeoutMs: ENV_DEFAULTS.httpKeepAliveTimeoutSeconds * 1000,
      maxConnections: ENV_DEFAULTS.httpMaxConnections,
      maxRequestsPerSocket: ENV_DEFAULTS.httpMaxRequestsPerSocket,
    });
  });

  it('reads the HTTP connection limits', () => {
    const config = loadConfig({
      [ENV.httpHeadersTimeout]: '2.5',
      [ENV.httpRequestTimeout]: '4',
      [ENV.httpKeepAliveTimeout]: '0.5',
      [ENV.httpMaxConnections]: '3',
      [ENV.httpMaxRequestsPerSocket]: '0',
    });
    expect(config.http).toEqual({
      headersTimeoutMs: 2500,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 500,
      maxConnections: 3,
      maxRequestsPerSocket: 0,
    });
  });

  it('refuses HTTP limits out of bounds, and a headers timeout longer than the request timeout', () => {
    expect(
      problemsOf({
        [ENV.httpHeadersTimeout]: '0',
        [ENV.httpMaxConnections]: '0',
        [ENV.httpMaxRequestsPerSocket]: '-1',
      }).map((p) => p.variable),
    ).toEqual([ENV.httpHeadersTimeout, ENV.httpMaxConnections, ENV.httpMaxRequestsPerSocket]);
    expect(problemsOf({ [ENV.httpHeadersTimeout]: '20', [ENV.httpRequestTimeout]: '15' })).toEqual([
      {
        variable: ENV.httpHeadersTimeout,
        message: 'must not exceed HTTP_REQUEST_TIMEOUT (15) (got "20")',
      },
    ]);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      [ENV.port]: '9000',
      [ENV.lmstudioBaseUrl]: 'https://llm.example:8443/v1',
      [ENV.lmstudioApiKey]: 'sekret',
      [ENV.lmstudioTimeout]: '2.5',
      [ENV.lmstudioMaxRetries]: '0',
      [ENV.defaultModelName]: 'other/model',
      [ENV.defaultMaxTokens]: '200',
      [ENV.defaultTemperature]: '1.2',
      [ENV.defaultSummaryType]: 'bullet_points',
      [ENV.defaultLanguage]: 'japanese',
      [ENV.debug]: 'TRUE',
      [ENV.lmstudioMaxConcurrency]: '7',
      [ENV.maxQueuedRequests]: '0',
      [ENV.queueTimeout]: '1.5',
      [ENV.lmstudioContextLength]: '2048',
      [SERVICE_ENV.chunkChars]: '3000',
    });
    expect(config).toMatchObject({
      port: 9000,
      debug: true,
      admission: { concurrency: 7, maxQueued: 0, queueTimeoutMs: 1500 },
      chunkChars: 3000,
      lmstudio: {
        baseUrl: 'https://llm.example:8443/v1',
        apiKey: 'sekret',
        timeoutMs: 2500,
        maxRetries: 0,
        contextLength: 2048,
      },
      defaults: {
        model: 'other/model',
        maxTokens: 200,
        temperature: 1.2,
        summaryType: 'bullet_points',
        language: 'japanese',
      },
    });
  });

  it('treats blank values as unset (Kubernetes renders empty values as "")', () => {
    expect(loadConfig({ [ENV.port]: '', [ENV.lmstudioApiKey]: '  ' })).toMatchObject({
      port: ENV_DEFAULTS.port,
      lmstudio: { apiKey: undefined },
    });
  });

  it.each([
    [ENV.port, 'eighty'],
    [ENV.port, '70000'],
    [ENV.lmstudioBaseUrl, 'lmstudio:1234'],
    [ENV.lmstudioTimeout, '0'],
    [ENV.lmstudioTimeout, '30s'],
    [ENV.lmstudioMaxRetries, '-1'],
    [ENV.lmstudioMaxRetries, '1.5'],
    [ENV.defaultMaxTokens, '10'],
    [ENV.defaultTemperature, '2.5'],
    [ENV.defaultSummaryType, 'short'],
    [ENV.defaultLanguage, 'french'],
    [ENV.debug, 'maybe'],
    [ENV.lmstudioMaxConcurrency, '0'],
    [ENV.maxQueuedRequests, '-1'],
    [ENV.queueTimeout, 'soon'],
    [ENV.lmstudioContextLength, '100'],
  ])('refuses %s=%s and names the variable', (variable, value) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.variable).toBe(variable);
    expect(problems[0]?.message).toContain(JSON.stringify(value));
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({ [ENV.port]: 'x', [ENV.debug]: 'x', [ENV.defaultLanguage]: 'x' });
    expect(problems.map((p) => p.variable).sort()).toEqual(
      [ENV.debug, ENV.defaultLanguage, ENV.port].sort(),
    );
  });
});
