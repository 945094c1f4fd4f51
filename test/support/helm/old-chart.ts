/** The defaults of the users' chart (llmplan 0.1.0, verbatim): test/support/helm/charts/llmplan/values.yaml, for unit tests. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { Values } from '../../../operator/ctl/migrate/helm-release.js';

export const OLD_CHART_VALUES = parse(
  readFileSync(path.join(import.meta.dirname, 'charts/llmplan/values.yaml'), 'utf8'),
) as Values;
