/**
 * A fake LM Studio: a real HTTP server on 127.0.0.1 speaking the endpoints
 * llmplan uses, with LM Studio's real error shapes (docs/lmstudio.md).
 *
 *   GET  /v1/models            → {object: "list", data: [{id, object: "model", owned_by}]}
 *   GET  /api/v0/models        → {data: [{id, state, max_context_length, loaded_context_length?}]}
 *                                (option `native: false`: 404, as llama.cpp and LM Studio < 0.3.6)
 *   POST /v1/chat/completions  → {id, object: "chat.completion", model, choices: [...], usage}
 *
 * Behaviour is switched at runtime with setMode():
 *   {kind: 'ok'}                          answer everything
 *   {kind: 'slow', latencyMs}             answer chat completions after latencyMs
 *   {kind: 'fail', times, status?}        the next `times` chat completions answer `status` (500), then ok
 *   {kind: 'always_fail', status?}        every chat completion and /v1/models answers `status` (500)
 *   {kind: 'model_missing'}               /v1/models lists other models; chat answers 404 like LM Studio
 *   {kind: 'model_not_found'}             chat answers 400 `Invalid model identifier`, code model_not_found
 *   {kind: 'no_model_loaded', shape?}     /v1/models lists nothing; chat answers 400 "No models loaded…",
 *                                         the error an object (0.4.8) or a bare string (`shape: 'string'`)
 *   {kind: 'error_string', status?}       chat answers `status` (400) with `{"error": "<a bare string>"}`
 *   {kind: 'error_200'}                   chat answers 200 with `{"error": {…}}` and no choices
 *   {kind: 'context', maxChars, shape}    a chat whose messages exceed maxChars characters is refused as a
 *                                         context overflow: `llama` (400 with n_ctx), `string` (400, bare
 *                                         string, LM Studio 0.3) or `status_200` (LM Studio 0.4.21)
 *   {kind: 'not_loaded', loadMs}          /api/v0/models says not-loaded; the first chat loads the model
 *                                         (answers after loadMs, chats meanwhile wait for it), then loaded
 * and down()/up(): stop listening (connections are refused) and listen again on the same port.
 * Options: `models` (what /v1/models lists; default qwen/qwen3-4b), `latencyMs` (delays every
 * answer, both endpoints, every mode), `reply` (the assistant's text), `answerModel` (the model
 * named in answers), `fixedReply` (benchmarks: a constant answer, the request left unparsed),
 * `maxParallel` (predictions at once, the rest queue: a backend that saturates).
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
  | { kind: 'model_missing' }
  | { kind: 'model_not_found' }
  | { kind: 'no_model_loaded'; shape?: 'object' | 'string' }
  | { kind: 'error_string'; status?: number }
  | { kind: 'error_200' }
  | { kind: 'context'; maxChars: number; shape: 'llama' | 'string' | 'status_200' }
  | { kind: 'not_loaded'; loadMs: number };

/** The context /api/v0/models reports for the loaded model by default (Qwen3-4B's 32k). */
export const DEFAULT_FAKE_CONTEXT = 32_768;

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
  /** Serve /api/v0/models (default true). */
  native?: boolean;
  /** `loaded_context_length` in /api/v0/models (default 32,768). */
  contextLength?: number;
  /**
   * Chat completions predicted at once, as LM Studio's "Max Concurrent Predictions" (4 by
   * default there): the rest wait in a FIFO queue, so their latency grows with load.
   * Default: no limit (a backend with spare capacity).
   */
  maxParallel?: number;
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
  /** GET /api/v0/models calls. */
  nativeCalls: number;
  /** Chats refused as a context overflow. */
  overflows: number;
  /** Model loads started by a chat (mode not_loaded). */
  loads: number;
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
    nativeCalls: 0,
    overflows: 0,
    loads: 0,
  };
  readonly chatRequests: RecordedChatRequest[] = [];
  #mode: FakeMode = { kind: 'ok' };
  #failuresLeft = 0;
  /** Predictions running, and chats waiting for one to finish (option maxParallel). */
  #predicting = 0;
  readonly #waiting: Array<() => void> = [];
  /** Mode not_loaded: the load in progress, and whether it has finished. */
  #loading: Promise<void> | undefined;
  #loaded = false;
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
    this.#loading = undefined;
    this.#loaded = false;
  }

  resetStats(): void {
    Object.assign(this.stats, {
      modelsCalls: 0,
      chatCalls: 0,
      chatOk: 0,
      maxConcurrentChats: 0,
      nativeCalls: 0,
      overflows: 0,
      loads: 0,
    });
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
    if (req.method === 'GET' && path === '/api/v0/models' && this.#options.native !== false) {
      this.stats.nativeCalls += 1;
      return this.#nativeModels(res);
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
    const ids =
      mode.kind === 'model_missing'
        ? ['some-other/model']
        : mode.kind === 'no_model_loaded'
          ? []
          : this.models;
    sendJson(res, 200, {
      object: 'list',
      data: ids.map((id) => ({ id, object: 'model', owned_by: 'organization_owner' })),
    });
  }

  #nativeModels(res: ServerResponse): void {
    const mode = this.#mode;
    const notLoaded =
      mode.kind === 'no_model_loaded' || (mode.kind === 'not_loaded' && !this.#loaded);
    const context = this.#options.contextLength ?? DEFAULT_FAKE_CONTEXT;
    sendJson(res, 200, {
      object: 'list',
      data: this.models.map((id) => ({
        id,
        object: 'model',
        type: 'llm',
        state: notLoaded ? 'not-loaded' : 'loaded',
        max_context_length: DEFAULT_FAKE_CONTEXT,
        ...(notLoaded ? {} : { loaded_context_length: context }),
      })),
    });
  }

  /** The error answers of LM Studio's modes; undefined when the mode lets the chat through. */
  #refusal(mode: FakeMode, recorded: RecordedChatRequest): [number, unknown] | undefined {
    switch (mode.kind) {
      case 'model_not_found':
        return [
          400,
          {
            error: {
              message: `Invalid model identifier "${recorded.model}". Please specify a valid downloaded model.`,
              type: 'invalid_request_error',
              param: 'model',
              code: 'model_not_found',
            },
          },
        ];
      case 'no_model_loaded': {
        const message =
          'No models loaded. Please load a model in the developer page or use the `lms load` command.';
        return [
          400,
          mode.shape === 'string'
            ? { error: message }
            : {
                error: {
                  message,
                  type: 'invalid_request_error',
                  param: 'model',
                  code: 'model_not_found',
                },
              },
        ];
      }
      case 'error_string':
        return [
          mode.status ?? 400,
          { error: 'fake LM Studio: the request failed (a bare string)' },
        ];
      case 'error_200':
        return [200, { error: { message: 'fake LM Studio: an error answered with status 200' } }];
      case 'context': {
        const chars = recorded.messages.reduce((sum, m) => sum + m.content.length, 0);
        if (chars <= mode.maxChars) return undefined;
        this.stats.overflows += 1;
        const tokens = Math.ceil(chars / 2);
        const limit = Math.ceil(mode.maxChars / 2);
        if (mode.shape === 'llama') {
          return [
            400,
            {
              error: {
                code: 400,
                type: 'exceed_context_size_error',
                message: `request (${tokens} tokens) exceeds the available context size (${limit} tokens), try increasing it`,
                n_prompt_tokens: tokens,
                n_ctx: limit,
              },
            },
          ];
        }
        const message =
          'The number of tokens to keep from the initial prompt is greater than the context length. Try to load the model with a larger context length, or provide a shorter input';
        return mode.shape === 'string' ? [400, { error: message }] : [200, { error: { message } }];
      }
      default:
        return undefined;
    }
  }

  /** Mode not_loaded: the first chat loads the model; chats meanwhile wait for the load. */
  async #load(mode: FakeMode): Promise<void> {
    if (mode.kind !== 'not_loaded' || this.#loaded) return;
    if (this.#loading === undefined) {
      this.stats.loads += 1;
      this.#loading = delay(mode.loadMs).then(() => {
        this.#loaded = true;
      });
    }
    await this.#loading;
  }

  /** Waits for a prediction slot (option maxParallel); resolves with its release. */
  async #slot(): Promise<() => void> {
    const max = this.#options.maxParallel;
    if (max === undefined) return () => undefined;
    if (this.#predicting >= max) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#predicting += 1;
    }
    return () => {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#predicting -= 1;
    };
  }

  async #chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const release = await this.#slot();
    try {
      await this.#answerChat(req, res, raw);
    } finally {
      release();
    }
  }

  async #answerChat(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
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
    const refusal = this.#refusal(mode, recorded);
    if (refusal !== undefined) return sendJson(res, refusal[0], refusal[1]);
    await this.#load(mode);
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
