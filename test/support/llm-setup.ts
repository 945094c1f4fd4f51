/**
 * The `llm` project's setup: installs the real inference server (hack/llm/setup.sh:
 * a venv under ~/.cache/llmplan, about 10 s cold, then cached), so a fresh clone
 * and CI need nothing but `make test`.
 */
import { inferencePython } from './llm-server.js';

export default function setup(): void {
  const started = performance.now();
  const python = inferencePython();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`inference server ready (${python}, ${seconds}s)\n`);
}
