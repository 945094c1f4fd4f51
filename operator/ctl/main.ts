/**
 * llmplanctl — and the kubectl plugin `kubectl llmplan` (bin/kubectl-llmplan): wiring only.
 * See docs/llmplanctl.md.
 */
import { programName, run } from './cli.js';

// `llmplanctl history x | head` closes the pipe early: not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

run(process.argv.slice(2), {
  program: programName(process.argv[1]),
  env: process.env,
  io: {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    now: () => new Date(),
  },
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A bug, not a user error: say so, with the stack.
    process.stderr.write(
      `error: unexpected failure (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
