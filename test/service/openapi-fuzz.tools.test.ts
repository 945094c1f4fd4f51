/**
 * Issue 21, part 3: the service answers what /openapi.json says, checked by Schemathesis
 * (installed from PyPI into a cached venv by hack/schemathesis/setup.sh). The service runs
 * as a real process (service/main.ts) on 127.0.0.1 in front of the fake LM Studio;
 * Schemathesis generates valid and invalid requests from the document, in all its phases,
 * with all its checks (no 5xx, every status and content type and header documented,
 * responses matching their schemas, schema-valid requests accepted and schema-invalid ones
 * refused, 405 with Allow for undocumented methods, …), bounded in examples and time, and
 * any finding fails the test. A control run against the document as it was (`text` bounded
 * before trimming), with the request that exposed it as an example, shows the same run fails
 * on such a lie.
 *
 * The seed is random unless LLMPLAN_FUZZ_SEED is set; a failure prints it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../contract/env.js';
import { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { REPO_ROOT, type ServiceProcess, spawnService } from '../support/service-harness.js';

const run = promisify(execFile);
/** Test cases per operation and phase; about 20 s for the whole document here. */
const MAX_EXAMPLES = 150;
const RUN_TIMEOUT_MS = 240_000;

let schemathesis: string;
let fake: FakeLmStudio;
let service: ServiceProcess;
let baseUrl: string;
let work: string;

beforeAll(async () => {
  schemathesis = (
    await run(path.join(REPO_ROOT, 'hack/schemathesis/setup.sh'), [], { timeout: 170_000 })
  ).stdout.trim();
  work = mkdtempSync(path.join(tmpdir(), 'llmplan-fuzz-'));
  fake = await FakeLmStudio.start();
  service = spawnService({ [ENV.lmstudioBaseUrl]: fake.baseUrl });
  baseUrl = `http://127.0.0.1:${await service.ready}`;
}, 180_000);

afterAll(async () => {
  if (service !== undefined && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  await fake?.stop();
});

interface StRun {
  code: number;
  output: string;
}

async function schemathesisRun(location: string, args: string[]): Promise<StRun> {
  try {
    const { stdout, stderr } = await run(
      schemathesis,
      [
        'run',
        location,
        '--checks',
        'all',
        '--workers',
        '1',
        '--request-timeout',
        '10',
        '--generation-database',
        'none',
        '--output-sanitize',
        'false',
        '--no-color',
        ...args,
      ],
      { cwd: work, timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; killed?: boolean };
    if (e.killed) throw new Error(`schemathesis ran past ${RUN_TIMEOUT_MS} ms`);
    return { code: Number(e.code), output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('Schemathesis against /openapi.json', () => {
  it('finds nothing: every answer is what the document says', async () => {
    const seed = process.env.LLMPLAN_FUZZ_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
    const result = await schemathesisRun(`${baseUrl}/openapi.json`, [
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      seed,
    ]);
    const message = `schemathesis (seed ${seed}; rerun with LLMPLAN_FUZZ_SEED=${seed}) exited ${result.code}:\n${result.output}`;
    expect(result.code, message).toBe(0);
    expect(result.output, message).toMatch(/No issues found/);
    // It really ran: every documented operation (the document's own URL aside) was tested.
    const cases = /(\d+) generated, (\d+) passed/.exec(result.output);
    expect(Number(cases?.[1]), message).toBeGreaterThan(100);
    expect(cases?.[1]).toBe(cases?.[2]);
    expect(result.output, message).toMatch(/Tested: 6\b/);
  }, 300_000);

  it('control: the same run finds the old lie ({"text":"         a"} valid by the document, refused)', async () => {
    const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, { post?: { requestBody: { content: Record<string, object> } } }>;
      components: {
        schemas: { SummaryRequest: { properties: { text: Record<string, unknown> } } };
      };
    };
    // The document as it was: bounds on the raw string, counted before trimming.
    const text = doc.components.schemas.SummaryRequest.properties.text;
    delete text.pattern;
    text.maxLength = 50_000;
    const content = doc.paths['/api/v1/summary/']?.post?.requestBody.content ?? {};
    content['application/json'] = {
      ...content['application/json'],
      example: { text: '         a' },
    };
    const file = path.join(work, 'old-openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const result = await schemathesisRun(file, [
      '--url',
      baseUrl,
      '--include-path',
      '/api/v1/summary/',
      '--phases',
      'examples',
    ]);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/ST202 Schema-valid request rejected/);
    expect(result.output).toContain(`-d '{"text": "         a"}'`);
  }, 300_000);
});
