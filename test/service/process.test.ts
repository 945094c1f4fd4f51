/**
 * Issue 2, points 6, 8 and 9, against the real process (service/main.ts):
 * the runbook's three shell pipelines on its captured stdout, bad configuration,
 * and the SIGTERM drain.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, SERVICE_ENV } from '../../contract/env.js';
import { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { sentences, spawnService } from '../support/service-harness.js';

let fake: FakeLmStudio;
let workDir: string;
beforeAll(async () => {
  fake = await FakeLmStudio.start({ latencyMs: 20 });
  workDir = mkdtempSync(join(tmpdir(), 'llmplan-service-'));
});
afterAll(async () => {
  await fake.stop();
  rmSync(workDir, { recursive: true, force: true });
});

/** The runbook's pipeline, with `kubectl logs …` replaced by the captured stdout. */
function runbook(logFile: string, pipeline: string): string {
  return execFileSync('bash', ['-o', 'pipefail', '-c', `cat '${logFile}' | ${pipeline}`], {
    encoding: 'utf8',
  }).trim();
}

function post(port: number, body: unknown, path = '/api/v1/summary/') {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('the runbook, run literally on the logs', () => {
  it('grep ERROR, the request count and the average latency all come out right', async () => {
    // Words the pipelines match on, inside the user's text: if the text were
    // ever logged, the numbers below would be wrong.
    const marker = 'USER-TEXT-MARKER ERROR POST /api/v1/summary completed in 99999ms';
    const service = spawnService({
      [ENV.lmstudioBaseUrl]: fake.baseUrl,
      [ENV.lmstudioMaxRetries]: '1',
      [SERVICE_ENV.retryBaseMs]: '5',
      [ENV.debug]: 'true', // DEBUG lines must not disturb the pipelines either
    });
    const port = await service.ready;
    const text = `${marker}. ${sentences(200)}`;
    const statuses: number[] = [];
    const clientMs: number[] = [];
    const timed = async (request: () => Promise<Response>) => {
      const started = performance.now();
      const response = await request();
      await response.arrayBuffer();
      clientMs.push(performance.now() - started);
      statuses.push(response.status);
    };
    for (let i = 0; i < 3; i += 1) await timed(() => post(port, { text }));
    await timed(() => post(port, { text }, '/api/v1/summary'));
    await timed(() => post(port, { text: 'short' }));
    await timed(() => post(port, { text, max_tokens: 1 }));
    fake.setMode({ kind: 'always_fail' });
    await timed(() => post(port, { text }));
    fake.setMode({ kind: 'ok' });
    // Not summary requests: never counted, never averaged.
    await fetch(`http://127.0.0.1:${port}/api/v1/summary/health`);
    await fetch(`http://127.0.0.1:${port}/api/v1/summary/other`, { method: 'POST' });
    await fetch(`http://127.0.0.1:${port}/livez`);
    expect(statuses).toEqual([200, 200, 200, 200, 422, 422, 502]);

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const logFile = join(workDir, 'service.log');
    writeFileSync(logFile, service.stdout());
    const entries = service
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

    // One JSON object per line, upper-case levels, msg last, no user text.
    for (const entry of entries) {
      expect(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']).toContain(entry.level);
      expect(Object.keys(entry).at(-1)).toBe('msg');
    }
    expect(service.stdout()).not.toContain('USER-TEXT-MARKER');

    // kubectl logs deployment/llmplan | grep ERROR
    const errors = runbook(logFile, 'grep ERROR').split('\n');
    expect(errors.length).toBeGreaterThanOrEqual(2); // the failed LM Studio call and the 502 request
    for (const line of errors) expect(JSON.parse(line).level).toBe('ERROR');
    expect(errors.some((line) => line.includes('POST /api/v1/summary/ 502 completed in'))).toBe(
      true,
    );
    expect(entries.filter((e) => e.level === 'ERROR')).toHaveLength(errors.length);

    // kubectl logs deployment/llmplan --since=168h | grep "POST /api/v1/summary" | wc -l
    expect(runbook(logFile, 'grep "POST /api/v1/summary" | wc -l')).toBe(String(statuses.length));

    // kubectl logs deployment/llmplan --since=24h | grep "completed in" | awk … | awk …
    const average = runbook(
      logFile,
      `grep "completed in" | awk '{print $NF}' | awk '{sum+=$1; count++} END {print "Average:", sum/count, "ms"}'`,
    );
    const durations = entries
      .filter((e) => String(e.msg).includes('completed in'))
      .map((e) => Number(e.duration_ms));
    expect(durations).toHaveLength(statuses.length);
    const expected = durations.reduce((a, b) => a + b, 0) / durations.length;
    const match = /^Average: ([\d.e+-]+) ms$/.exec(average);
    expect(match, average).not.toBeNull();
    expect(Number(match?.[1])).toBeCloseTo(expected, 3);
    // The logged durations are real: at least the fake's 20 ms latency where LM Studio
    // answered, and close to what the client saw ('finish' fires a scheduling tick after
    // the bytes left, so on a busy machine the server's figure can exceed the client's a little).
    expect(Math.min(...durations.slice(0, 4))).toBeGreaterThanOrEqual(20);
    for (const [i, ms] of durations.entries()) {
      expect(ms).toBeLessThanOrEqual((clientMs[i] ?? 0) + 50);
    }
  });
});

describe('bad configuration', () => {
  it.concurrent.each([
    [ENV.port, 'eighty'],
    [ENV.lmstudioTimeout, '-5'],
    [ENV.defaultLanguage, 'klingon'],
    [ENV.lmstudioBaseUrl, 'not a url'],
  ])('%s=%s: a CRITICAL line naming it, exit 1, never listens', async (variable, value) => {
    const service = spawnService({ [ENV.lmstudioBaseUrl]: fake.baseUrl, [variable]: value });
    expect(await service.exited).toBe(1);
    const lines = service.stdout().split('\n').filter(Boolean);
    const critical = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((e) => e.level === 'CRITICAL');
    expect(critical).toHaveLength(1);
    expect(critical[0]?.variable).toBe(variable);
    expect(String(critical[0]?.msg)).toContain(variable);
    expect(service.stdout()).not.toContain('listening');
  });

  it('an LMSTUDIO_API_KEY is never echoed, even when another variable is wrong', async () => {
    const service = spawnService({
      [ENV.lmstudioApiKey]: 'sk-very-secret',
      [ENV.debug]: 'perhaps',
    });
    expect(await service.exited).toBe(1);
    expect(service.stdout()).toContain('DEBUG');
    expect(service.stdout()).not.toContain('sk-very-secret');
  });
});

describe('SIGTERM', () => {
  it('stops accepting, finishes the in-flight request, then exits 0', async () => {
    fake.setMode({ kind: 'slow', latencyMs: 1200 });
    try {
      const service = spawnService({ [ENV.lmstudioBaseUrl]: fake.baseUrl });
      const port = await service.ready;
      const calls = fake.stats.chatCalls;
      const inFlight = post(port, { text: sentences(100) });
      while (fake.stats.chatCalls === calls)
        await new Promise((resolve) => setTimeout(resolve, 10));
      service.child.kill('SIGTERM');
      // The listener closes at once: new connections are refused while the request drains.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const refused = await new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect((await response.json()) as { summary_text: string }).toHaveProperty('summary_text');
      expect(await service.exited).toBe(0);
      expect(service.stdout()).toMatch(/SIGTERM received/);
      expect(service.stdout()).toMatch(/POST \/api\/v1\/summary\/ 200 completed in \d+ms/);
    } finally {
      fake.setMode({ kind: 'ok' });
    }
  });
});
