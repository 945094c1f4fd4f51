/**
 * A fake LM Studio: a real HTTP server on 127.0.0.1 speaking the two
 * OpenAI-compatible endpoints llmplan uses.
 *
 *   GET  /v1/models            → {object: "list", data: [{id, object: "model", owned_by}]}
 *   POST /v1/chat/completions  → {id, object: "chat.completion", model, choices: [...], usage}
 *
 * Behaviour is switched at runtime with setMode():
 *   {kind: 'ok'}                          answer everything
 *   {kind: 'slow', latencyMs}             answer chat completions after latencyMs
 *   {kind: 'fail', times, status?}        the next `times` chat completions answer `status` (500), then ok
 *   {kind: 'always_fail', status?}        every chat completion and /v1/models answers `status` (500)
 *   {kind: 'model_missing'}               /v1/models lists other models; chat answers 404 like LM Studio
 * and down()/up(): stop listening (connections are refused) and listen again on the same port.
 * Options: `models` (what /v1/models lists; default qwen/qwen3-4b), `latencyMs` (delays every
 * answer, both endpoints, every mode), `reply` (the assistant's text), `answerModel` (the model
 * named in answers), `fixedReply` (benchmarks: a constant answer, the request left unparsed).
 *
 * `stats` counts calls, so tests can assert "the LLM was not called", and records
 * the peak of concurrent chat completions; `chatRequests` keeps the last bodies.
 *
 *   const fake = await FakeLmStudio.start();          // port 0: any free port
 *   process.env.LMSTUDIO_BASE_URL = fake.baseUrl;     // http://127.0.0.1:<port>/v1
 *   fake.setMode({ kind: 'fail', times: 2 });
 *   ...; expect(fake.stats.chatCalls).toBe(3);
 *   await fake.stop();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeMode =
  | { kind: 'ok' }
  | { kind: 'slow'; latencyMs: number }
  | { kind: 'fail'; times: number; status?: number }
  | { kind: 'always_fail'; status?: number }
  | { kind: 'model_missing' };

export interface FakeLmStudioOptions {
  /** 0 (default): any free port. */
  port?: number;
  host?: string;
  /** Models /v1/models lists; the first answers chat completions. */
  models?: string[];
  /** Added to every answer, in every mode (the benchmark's LLM latency). */
  latencyMs?: number;
  /** What the assistant says; by default a short text derived from the user message. */
  reply?: (request: RecordedChatRequest) => string;
  /** The `model` chat answers carry (LM Studio may name a specific build); the requested model by default. */
  answerModel?: string;
  /**
   * Benchmarks: answer every successful chat completion with this text, without
   * parsing or recording the request, so the fake costs as little CPU as it can.
   */
  fixedReply?: string;
  /** How many chat request bodies to keep in `chatRequests`. */
  keepRequests?: number;
}

export interface RecordedChatRequest {
  model: string | undefined;
  messages: Array<{ role: string; content: string }>;
  max_tokens: number | undefined;
  temperature: number | undefined;
  authorization: string | undefined;
}

export interface FakeStats {
  modelsCalls: number;
  chatCalls: number;
  /** Chat completions answered 2xx. */
  chatOk: number;
  chatInFlight: number;
  maxConcurrentChats: number;
}

export const DEFAULT_FAKE_MODEL = 'qwen/qwen3-4b';

/** The default reply: deterministic, shorter than the input, and traceable to it. */
export function defaultReply(request: RecordedChatRequest): string {
  const user = request.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  const words = user.split(/\s+/).filter(Boolean).slice(0, 8).join(' ');
  return `Summary (${user.length} chars): ${words}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FakeLmStudio {
  readonly stats: FakeStats = {
    modelsCalls: 0,
    chatCalls: 0,
    chatOk: 0,
    chatInFlight: 0,
    maxConcurrentChats: 0,
  };
  readonly chatRequests: RecordedChatRequest[] = [];
  #mode: FakeMode = { kind: 'ok' };
  #failuresLeft = 0;
  #server: Server;
  #sockets = new Set<Socket>();
  #port: number;
  readonly #host: string;
  readonly #options: FakeLmStudioOptions;

  private constructor(options: FakeLmStudioOptions) {
    this.#options = options;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#server = this.#createServer();
  }

  static async start(options: FakeLmStudioOptions = {}): Promise<FakeLmStudio> {
    const fake = new FakeLmStudio(options);
    await fake.up();
    return fake;
  }

  get port(): number {
    return this.#port;
  }

  /** The value for LMSTUDIO_BASE_URL. */
  get baseUrl(): string {
    return `http://${this.#host}:${this.#port}/v1`;
  }

  get models(): string[] {
    return this.#options.models ?? [DEFAULT_FAKE_MODEL];
  }

  get mode(): FakeMode {
    return this.#mode;
  }

  setMode(mode: FakeMode): void {
    this.#mode = mode;
    this.#failuresLeft = mode.kind === 'fail' ? mode.times : 0;
  }

  resetStats(): void {
    Object.assign(this.stats, { modelsCalls: 0, chatCalls: 0, chatOk: 0, maxConcurrentChats: 0 });
    this.chatRequests.length = 0;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /** Listens (again) on the same port; the first call picks the port when it is 0. */
  async up(): Promise<void> {
    if (this.#server.listening) return;
    this.#server = this.#createServer();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and drops every open connection: LM Studio is down. */
  async down(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  async stop(): Promise<void> {
    await this.down();
  }

  #createServer(): Server {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      });
    });
    server.keepAliveTimeout = 30_000;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    return server;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && path === '/v1/models') {
      this.stats.modelsCalls += 1;
      await this.#latency();
      return this.#models(res);
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      this.stats.chatCalls += 1;
      this.stats.chatInFlight += 1;
      this.stats.maxConcurrentChats = Math.max(
        this.stats.maxConcurrentChats,
        this.stats.chatInFlight,
      );
      try {
        return await this.#chat(req, res);
      } finally {
        this.stats.chatInFlight -= 1;
      }
    }
    await readBody(req);
    sendJson(res, 404, { error: `Unexpected endpoint or method. (${req.method} ${path})` });
  }

  async #latency(): Promise<void> {
    const ms = this.#options.latencyMs ?? 0;
    if (ms > 0) await delay(ms);
  }

  #fixedAnswerCache: Buffer | undefined;

  #fixedAnswer(): Buffer | undefined {
    const reply = this.#options.fixedReply;
    if (reply === undefined) return undefined;
    this.#fixedAnswerCache ??= Buffer.from(
      JSON.stringify({
        id: 'chatcmpl-fixed',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: this.#options.answerModel ?? this.models[0] ?? DEFAULT_FAKE_MODEL,
        choices: [
          { index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      }),
    );
    return this.#fixedAnswerCache;
  }

  #models(res: ServerResponse): void {
    const mode = this.#mode;
    if (mode.kind === 'always_fail') {
      sendJson(res, mode.status ?? 500, { error: 'fake LM Studio: failing on purpose' });
      return;
    }
    const ids = mode.kind === 'model_missing' ? ['some-other/model'] : this.models;
    sendJson(res, 200, {
      object: 'list',
      data: ids.map((id) => ({ id, object: 'model', owned_by: 'organization_owner' })),
    });
  }

  async #chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const fixed = this.#fixedAnswer();
    if (fixed !== undefined && (this.#mode.kind === 'ok' || this.#mode.kind === 'slow')) {
      await this.#latency();
      if (this.#mode.kind === 'slow') await delay(this.#mode.latencyMs);
      this.stats.chatOk += 1;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': fixed.length });
      res.end(fixed);
      return;
    }
    let parsed: Record<string, unknown> = {};
    try {
      const value: unknown = JSON.parse(raw);
      if (value !== null && typeof value === 'object') parsed = value as Record<string, unknown>;
    } catch {
      // Tolerated: the benchmark's passthrough forwards any body.
    }
    const recorded: RecordedChatRequest = {
      model: typeof parsed.model === 'string' ? parsed.model : undefined,
      messages: Array.isArray(parsed.messages)
        ? parsed.messages.map((m: { role?: unknown; content?: unknown }) => ({
            role: String(m?.role),
            content: String(m?.content),
          }))
        : [],
      max_tokens: typeof parsed.max_tokens === 'number' ? parsed.max_tokens : undefined,
      temperature: typeof parsed.temperature === 'number' ? parsed.temperature : undefined,
      authorization: req.headers.authorization,
    };
    const keep = this.#options.keepRequests ?? 100;
    if (keep > 0) {
      this.chatRequests.push(recorded);
      if (this.chatRequests.length > keep) this.chatRequests.shift();
    }

    await this.#latency();
    const mode = this.#mode;
    if (mode.kind === 'slow') await delay(mode.latencyMs);
    if (mode.kind === 'always_fail' || (mode.kind === 'fail' && this.#failuresLeft > 0)) {
      if (mode.kind === 'fail') this.#failuresLeft -= 1;
      return sendJson(res, mode.status ?? 500, { error: 'fake LM Studio: failing on purpose' });
    }
    const model = this.models[0] ?? DEFAULT_FAKE_MODEL;
    if (
      mode.kind === 'model_missing' ||
      (recorded.model !== undefined && !this.models.includes(recorded.model))
    ) {
      return sendJson(res, 404, {
        error: { message: `Model "${recorded.model}" not found`, type: 'invalid_request_error' },
      });
    }
    if (res.destroyed) return;
    const content = (this.#options.reply ?? defaultReply)(recorded);
    this.stats.chatOk += 1;
    sendJson(res, 200, {
      id: `chatcmpl-${this.stats.chatCalls}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: this.#options.answerModel ?? recorded.model ?? model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    });
  }
}
