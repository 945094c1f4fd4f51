/**
 * Starts the real service (in this process, on 127.0.0.1:0) in front of a fake
 * LM Studio, with its log lines captured; or spawns service/main.ts as a real
 * process for the tests that need signals, exit codes and raw stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ENV, SERVICE_ENV } from '../../contract/env.js';
import { type ServiceHandle, startService } from '../../service/app.js';
import { loadConfig, type ServiceConfig } from '../../service/config.js';
import { createLogger } from '../../service/logging.js';
import { FakeLmStudio, type FakeLmStudioOptions } from './fakes/lmstudio.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface LogEntry {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export class CapturedLogs {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
      callback();
    },
  });

  get entries(): LogEntry[] {
    return this.lines.map((line) => JSON.parse(line) as LogEntry);
  }

  /** The runbook line of each summary request. */
  get summaryLines(): LogEntry[] {
    return this.entries.filter((entry) => entry.msg.includes('completed in'));
  }
}

export type ConfigOverrides = Partial<
  Omit<ServiceConfig, 'lmstudio' | 'defaults' | 'admission' | 'http'>
> & {
  lmstudio?: Partial<ServiceConfig['lmstudio']>;
  defaults?: Partial<ServiceConfig['defaults']>;
  admission?: Partial<ServiceConfig['admission']>;
  http?: Partial<ServiceConfig['http']>;
};

/** The service in this process, in front of whatever LM Studio `baseUrl` names. */
export interface RunningService {
  service: ServiceHandle;
  config: ServiceConfig;
  logs: CapturedLogs;
  url: string;
  post(
    body: unknown,
    init?: { path?: string; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response>;
  /** The value of one series on /metrics (e.g. `summary_queue_depth`), undefined if absent. */
  metric(series: string): Promise<number | undefined>;
}

export interface Stack extends RunningService {
  fake: FakeLmStudio;
  stop(): Promise<void>;
}

/** Fast retries and a small breaker so failure tests stay short. */
const TEST_DEFAULTS: ConfigOverrides = {
  lmstudio: { retryBaseMs: 5, timeoutMs: 5000, healthCacheMs: 1000, breakerResetMs: 300 },
};

/** Starts the service on 127.0.0.1:0 with the test defaults, then `overrides`. */
export async function startServiceAt(
  baseUrl: string,
  overrides: ConfigOverrides = {},
  testDefaults: ConfigOverrides = TEST_DEFAULTS,
): Promise<RunningService> {
  const base = loadConfig({
    [ENV.lmstudioBaseUrl]: baseUrl,
    [ENV.port]: '0',
    [SERVICE_ENV.host]: '127.0.0.1',
  });
  const config: ServiceConfig = {
    ...base,
    ...overrides,
    lmstudio: { ...base.lmstudio, ...testDefaults.lmstudio, ...overrides.lmstudio },
    defaults: { ...base.defaults, ...overrides.defaults },
    admission: { ...base.admission, ...overrides.admission },
    http: { ...base.http, ...overrides.http },
  };
  const logs = new CapturedLogs();
  const service = await startService(config, {
    logger: createLogger({ debug: config.debug, destination: logs.stream }),
  });
  const url = `http://127.0.0.1:${service.port}`;
  return {
    service,
    config,
    logs,
    url,
    post: (body, init = {}) =>
      fetch(url + (init.path ?? '/api/v1/summary/'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      }),
    metric: async (series) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const found = text.split('\n').find((line) => line.startsWith(`${series} `));
      return found === undefined ? undefined : Number(found.split(' ').at(-1));
    },
  };
}

export async function startStack(
  overrides: ConfigOverrides = {},
  fakeOptions: FakeLmStudioOptions = {},
): Promise<Stack> {
  const fake = await FakeLmStudio.start(fakeOptions);
  const running = await startServiceAt(fake.baseUrl, overrides);
  return {
    ...running,
    fake,
    stop: async () => {
      await running.service.shutdown();
      await fake.stop();
    },
  };
}

/** A text of `length` characters made of short English sentences. */
export function sentences(length: number, word = 'fact'): string {
  let text = '';
  for (let i = 0; text.length < length; i += 1)
    text += `This ${word} number ${i} is worth keeping. `;
  return text.slice(0, length);
}

// ---------------------------------------------------------------------------
// The real process.

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the port once the "listening" line appears. */
  ready: Promise<number>;
  exited: Promise<number | null>;
}

export function spawnService(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  // 'close', not 'exit': by then stdout has been read to the end.
  const exited = once(child, 'close').then(([code]) => code as number | null);
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    exited.then((code) =>
      reject(new Error(`service exited (${code}) before listening:\n${out}\n${err}`)),
    );
  });
  ready.catch(() => {}); // callers that expect a failed start never await it
  return { child, stdout: () => out, stderr: () => err, ready, exited };
}
