/**
 * `npm run gen:crd`: writes the CRD from the zod schemas to crds/summarizerservice.yaml and
 * to the Helm chart's charts/llmplan-operator/crds/ (the same file: Helm installs a chart's
 * crds/ before its templates). `npm run gen:crd -- --check` exits 1 if either is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCrdYaml } from './crd.js';

export const CRD_PATH = fileURLToPath(
  new URL('../../crds/summarizerservice.yaml', import.meta.url),
);
export const CHART_CRD_PATH = fileURLToPath(
  new URL('../../charts/llmplan-operator/crds/summarizerservice.yaml', import.meta.url),
);

function main(): void {
  const yaml = renderCrdYaml();
  if (process.argv.includes('--check')) {
    const stale = [CRD_PATH, CHART_CRD_PATH].filter((p) => readFileSync(p, 'utf8') !== yaml);
    for (const path of stale) console.error(`${path} is out of date: run npm run gen:crd`);
    if (stale.length > 0) process.exit(1);
    console.log(`${CRD_PATH} and ${CHART_CRD_PATH} are up to date`);
    return;
  }
  for (const path of [CRD_PATH, CHART_CRD_PATH]) {
    writeFileSync(path, yaml);
    console.log(`wrote ${path}`);
  }
}

main();
