/**
 * What the end-to-end tests do as a user would, through kubectl: server-side apply the
 * SummarizerService `llmplan`, change its image tag, read it back.
 */
import { kubectlOk } from '../cluster/kube.js';

export const NAME = 'llmplan';

/** Server-side applies SummarizerService `llmplan` in `ns` with this spec (field manager e2e). */
export async function applySummarizerService(
  ns: string,
  spec: Record<string, unknown>,
): Promise<void> {
  const object = {
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    metadata: { name: NAME, namespace: ns },
    spec,
  };
  await kubectlOk(['apply', '--server-side', '--field-manager=e2e', '-f', '-'], {
    input: JSON.stringify(object),
  });
}

/** `kubectl patch --type=merge` of spec.image.tag: a new rollout. */
export async function setTag(ns: string, tag: string): Promise<void> {
  await kubectlOk([
    'patch',
    'sumsvc',
    NAME,
    '-n',
    ns,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { image: { tag } } }),
  ]);
}

/** The SummarizerService as `kubectl get -o json` prints it. */
export async function getSummarizerService<T>(ns: string): Promise<T> {
  return JSON.parse(await kubectlOk(['get', 'sumsvc', NAME, '-n', ns, '-o', 'json'])) as T;
}

/** `kubectl get sumsvc llmplan`, the table a user reads, as column → value (and the raw text). */
export async function getRow(ns: string): Promise<{ text: string; row: Record<string, string> }> {
  const text = await kubectlOk(['get', 'sumsvc', NAME, '-n', ns]);
  const [header = '', line = ''] = text.trim().split('\n');
  const values = line.trim().split(/\s+/);
  const row = Object.fromEntries(
    header
      .trim()
      .split(/\s+/)
      .map((h, i) => [h, values[i] ?? '']),
  );
  return { text, row };
}
