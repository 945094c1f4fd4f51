// Starts llmplanctl from this checkout (or an installed copy of the package); the shims
// bin/llmplanctl and bin/kubectl-llmplan import it, and the program name comes from
// argv[1], so `kubectl llmplan …` shows "kubectl llmplan" in its usage.
//
// The build (dist/, `npm run build`) starts in about a third of the time, so it is used
// when it is at least as new as every source file; otherwise the sources run through tsx
// (a devDependency), so a checkout never runs a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'dist', 'operator', 'ctl', 'main.js');
const source = path.join(root, 'operator', 'ctl', 'main.ts');
// What llmplanctl is compiled from (operator/api imports contract/env.ts).
const sourceDirs = ['contract', 'operator'].map((dir) => path.join(root, dir));

function newestSourceMtime() {
  let newest = 0;
  for (const dir of sourceDirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) {
        newest = Math.max(
          newest,
          statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs,
        );
      }
    }
  }
  return newest;
}

const useBuild =
  existsSync(built) && (!existsSync(source) || statSync(built).mtimeMs >= newestSourceMtime());

if (useBuild) {
  await import(pathToFileURL(built).href);
} else if (!existsSync(source)) {
  process.stderr.write(
    `error: llmplanctl is neither built (${built}) nor in source form (${source})\n`,
  );
  process.exitCode = 1;
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    process.stderr.write(
      `error: running llmplanctl from source needs tsx: run "npm ci" in ${root} (or "npm run build"): ${err.message}\n`,
    );
    process.exit(1);
  }
  register({ tsconfig: path.join(root, 'tsconfig.json') });
  await import(pathToFileURL(source).href);
}
