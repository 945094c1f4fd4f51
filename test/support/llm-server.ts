/**
 * Starts the real inference server (hack/llm/serve.py: llama.cpp's server with
 * SmolLM2-135M, the stand-in for LM Studio) on a free 127.0.0.1 port, and stops
 * it. hack/llm/setup.sh installs it first (a cached venv; about 10 s cold).
 *
 *   const llm = await startInferenceServer({ ctx: 2048 });
 *   process.env.LMSTUDIO_BASE_URL = llm.baseUrl;   // http://127.0.0.1:<port>/v1
 *   await llm.stop();  await llm.restart();        // same port
 *
 * Reusable by any test or benchmark; nothing here is specific to the service.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const LLM_DIR = fileURLToPath(new URL('../../hack/llm/', import.meta.url));
const READY_LINE = /inference server listening on (http:\/\/\S+)/;

export interface InferenceServerOptions {
  /** Context tokens per slot (default 2048). */
  ctx?: number;
  /** Predictions at once (default 1). */
  parallel?: number;
  /** CPU threads (default 1: fastest on 2 shared cores). */
  threads?: number;
  /** The model id /v1/models reports (default qwen/qwen3-4b, the service's default). */
  alias?: string;
  apiKey?: string;
  /** Fixed port; default a free one. */
  port?: number;
  /** Longest wait for the "listening" line (default 120 s). */
  startTimeoutMs?: number;
}

let pythonPath: string | undefined;

/** The venv's python, installing it on first use (setup.sh is idempotent and cached). */
export function inferencePython(): string {
  pythonPath ??= execFileSync('bash', [`${LLM_DIR}setup.sh`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return pythonPath;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class InferenceServer {
  #child: ChildProcess | undefined;
  #output = '';
  readonly port: number;
  readonly #options: InferenceServerOptions;

  private constructor(port: number, options: InferenceServerOptions) {
    this.port = port;
    this.#options = options;
  }

  static async start(options: InferenceServerOptions = {}): Promise<InferenceServer> {
    const server = new InferenceServer(options.port ?? (await freePort()), options);
    await server.restart();
    return server;
  }

  /** The value for LMSTUDIO_BASE_URL. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** The server's origin, for /tokenize and /health. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** What the server printed (its log), for a failing test's message. */
  get output(): string {
    return this.#output;
  }

  /** Starts it (again, on the same port) and resolves once it serves the model. */
  async restart(): Promise<void> {
    if (this.#child !== undefined) return;
    const { ctx = 2048, parallel = 1, threads = 1, alias, apiKey } = this.#options;
    const args = [
      `${LLM_DIR}serve.py`,
      '--host',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--ctx',
      String(ctx),
      '--parallel',
      String(parallel),
      '--threads',
      String(threads),
    ];
    if (alias !== undefined) args.push('--alias', alias);
    if (apiKey !== undefined) args.push('--api-key', apiKey);
    const child = spawn(inferencePython(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    // Never outlive the test process, however it ends.
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
    const exited = once(child, 'exit');
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.#output += chunk.toString('utf8');
        if (this.#output.length > 200_000) this.#output = this.#output.slice(-100_000);
        if (READY_LINE.test(this.#output)) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      exited.then(([code]) =>
        reject(
          new Error(
            `the inference server exited (${code}) before it was ready:\n${this.#output.slice(-4000)}`,
          ),
        ),
      );
    });
    const timeoutMs = this.#options.startTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the inference server was not ready within ${timeoutMs}ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([ready, timeout]);
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    // Later output (request logs) is not needed: keep draining the pipes.
    this.#output = '';
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s); the port is free once this resolves. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Exact token count of `text` by the model's own tokenizer. */
  async tokenCount(text: string): Promise<number> {
    const response = await fetch(`${this.origin}/tokenize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: text }),
    });
    if (!response.ok) throw new Error(`/tokenize answered ${response.status}`);
    const body = (await response.json()) as { tokens: unknown[] };
    return body.tokens.length;
  }
}

export const startInferenceServer = (options?: InferenceServerOptions) =>
  InferenceServer.start(options);
