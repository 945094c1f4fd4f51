/**
 * bench:service (a): what the service costs the real inference server. The
 * same summaries (same prompts, max_tokens, temperature 0) are asked through the
 * service and directly of the server (llama.cpp with SmolLM2-135M, 4 slots, as
 * LM Studio's 4 parallel predictions), at 1, 2 and 4 concurrent clients, in
 * alternating order; every request's text is new, so the server's prompt cache
 * helps neither side beyond the shared system prompt.
 */
import { ENV } from '../../contract/env.js';
import { buildMessages } from '../../service/prompts.js';
import { SAMPLE_TEXTS } from '../support/llm-samples.js';
import { freePort, startInferenceServer } from '../support/llm-server.js';
import { processCpuSeconds } from './operator-metrics.js';
import { start, stop, waitFor } from './service-processes.js';

const MODEL = 'qwen/qwen3-4b';
const MAX_TOKENS = 64;

export interface PathResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Completion tokens per second (the service's: its summaries counted by /tokenize afterwards). */
  tokensPerSecond: number;
}

export interface RealRow {
  clients: number;
  service: PathResult;
  direct: PathResult;
  rpsRatio: number;
  tokensRatio: number;
  /** CPU the service process used per request: all it can take from the server's cores. */
  serviceCpuMsPerRequest: number;
}

interface Timed {
  seconds: number;
  texts: string[];
  tokens: number;
}

function text(tag: string): string {
  return `Report ${tag}. ${SAMPLE_TEXTS.english}`;
}

/** `clients` loops of `perClient` sequential requests; resolves with wall time and answers. */
async function drive(
  clients: number,
  perClient: number,
  tag: string,
  ask: (text: string) => Promise<{ summary: string; tokens?: number }>,
): Promise<Timed> {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const mine: Array<{ summary: string; tokens?: number }> = [];
      for (let i = 0; i < perClient; i += 1) mine.push(await ask(text(`${tag}.${client}.${i}`)));
      return mine;
    }),
  );
  const flat = answers.flat();
  return {
    seconds: (performance.now() - started) / 1000,
    texts: flat.map((a) => a.summary),
    tokens: flat.reduce((sum, a) => sum + (a.tokens ?? 0), 0),
  };
}

export async function compareWithRealServer(options: {
  rounds: number;
  perClient: number;
  log: (line: string) => void;
}): Promise<{ rows: RealRow[]; setup: Record<string, unknown> }> {
  const llm = await startInferenceServer({ ctx: 2048, parallel: 4 });
  const port = await freePort();
  const service = start('service/main.ts', [], {
    [ENV.port]: String(port),
    HOST: '127.0.0.1',
    [ENV.lmstudioBaseUrl]: llm.baseUrl,
    [ENV.lmstudioMaxConcurrency]: '4',
    [ENV.lmstudioTimeout]: '300',
  });
  try {
    await waitFor(`http://127.0.0.1:${port}/readyz`);
    const viaService = async (input: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/summary/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          text: input,
          language: 'english',
          max_tokens: MAX_TOKENS,
          temperature: 0,
        }),
      });
      const body = (await response.json()) as { summary_text?: string };
      if (response.status !== 200)
        throw new Error(`service: HTTP ${response.status} ${JSON.stringify(body)}`);
      return { summary: body.summary_text ?? '' };
    };
    const direct = async (input: string) => {
      const messages = buildMessages(
        { summary_type: 'concise', language: 'english' },
        { kind: 'whole' },
        input,
        MODEL,
      );
      const response = await fetch(`${llm.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          messages,
          max_tokens: MAX_TOKENS,
          temperature: 0,
          stream: false,
        }),
      });
      const body = (await response.json()) as {
        choices?: Array<{ message?: { content?: string } }>;
        usage?: { completion_tokens?: number };
      };
      if (response.status !== 200) throw new Error(`direct: HTTP ${response.status}`);
      return {
        summary: body.choices?.[0]?.message?.content ?? '',
        tokens: body.usage?.completion_tokens ?? 0,
      };
    };
    // Warm-up: the model's first evaluation, and the shared system prompt in the cache.
    await viaService(text('warm-up-service'));
    await direct(text('warm-up-direct'));

    const rows: RealRow[] = [];
    for (const clients of [1, 2, 4]) {
      let serviceCpuSeconds = 0;
      const totals = {
        service: { seconds: 0, requests: 0, tokens: 0 },
        direct: { seconds: 0, requests: 0, tokens: 0 },
      };
      for (let round = 0; round < options.rounds; round += 1) {
        const order =
          round % 2 === 0 ? (['service', 'direct'] as const) : (['direct', 'service'] as const);
        for (const path of order) {
          options.log(`  (a) ${clients} client(s), round ${round + 1}/${options.rounds}: ${path}`);
          const tag = `${clients}.${round}.${path}`;
          const cpuBefore = processCpuSeconds(service.pid ?? 0) ?? Number.NaN;
          const timed = await drive(
            clients,
            options.perClient,
            tag,
            path === 'service' ? viaService : direct,
          );
          if (path === 'service') {
            serviceCpuSeconds += (processCpuSeconds(service.pid ?? 0) ?? Number.NaN) - cpuBefore;
          }
          let tokens = timed.tokens;
          if (path === 'service') {
            // Counted after the clock stopped, by the model's own tokenizer.
            for (const summary of timed.texts) tokens += await llm.tokenCount(summary);
          }
          totals[path].seconds += timed.seconds;
          totals[path].requests += timed.texts.length;
          totals[path].tokens += tokens;
        }
      }
      const result = (t: { seconds: number; requests: number; tokens: number }): PathResult => ({
        requests: t.requests,
        seconds: t.seconds,
        rps: t.requests / t.seconds,
        tokensPerSecond: t.tokens / t.seconds,
      });
      const serviceResult = result(totals.service);
      const directResult = result(totals.direct);
      rows.push({
        clients,
        service: serviceResult,
        direct: directResult,
        rpsRatio: serviceResult.rps / directResult.rps,
        tokensRatio: serviceResult.tokensPerSecond / directResult.tokensPerSecond,
        serviceCpuMsPerRequest: (serviceCpuSeconds * 1000) / totals.service.requests,
      });
    }
    return {
      rows,
      setup: {
        server: 'llama.cpp (xllamacpp) + SmolLM2-135M Q4_1, 4 slots × 2048 tokens, 1 thread',
        maxTokens: MAX_TOKENS,
        temperature: 0,
        rounds: options.rounds,
        requestsPerClientPerRound: options.perClient,
        serviceEnv: { LMSTUDIO_MAX_CONCURRENCY: 4 },
      },
    };
  } finally {
    await stop(service);
    await llm.stop();
  }
}
