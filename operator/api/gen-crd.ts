/**
 * `npm run gen:crd`: writes crds/summarizerservice.yaml from the zod schemas.
 * `npm run gen:crd -- --check` exits 1 if the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCrdYaml } from './crd.js';

export const CRD_PATH = fileURLToPath(
  new URL('../../crds/summarizerservice.yaml', import.meta.url),
);

function main(): void {
  const yaml = renderCrdYaml();
  if (process.argv.includes('--check')) {
    const current = readFileSync(CRD_PATH, 'utf8');
    if (current !== yaml) {
      console.error(`${CRD_PATH} is out of date: run npm run gen:crd`);
      process.exit(1);
    }
    console.log(`${CRD_PATH} is up to date`);
    return;
  }
  writeFileSync(CRD_PATH, yaml);
  console.log(`wrote ${CRD_PATH}`);
}

main();
