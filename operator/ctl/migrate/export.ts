/**
 * `llmplanctl export NAME`: the SummarizerService as it belongs in Git (manifest.ts) — the
 * runbook's backup step, and the file to commit after `migrate helm`.
 */
import { stringify } from 'yaml';
import type { OutputFormat } from '../args.js';
import { getSummarizerService } from '../cluster.js';
import type { Io } from '../commands.js';
import type { Session } from '../connect.js';
import { gitManifest } from '../manifest.js';

export interface ExportOptions {
  output?: OutputFormat;
  /** Keep the fields whose value is the CRD's default. */
  keepDefaults: boolean;
}

export async function exportCommand(
  session: Session,
  name: string,
  options: ExportOptions,
  io: Io,
): Promise<number> {
  const live = await getSummarizerService(session, name);
  if (live.warning) io.err(`warning: ${live.warning}\n`);
  const manifest = gitManifest(live.raw, { keepDefaults: options.keepDefaults });
  if (options.output === 'json') {
    io.out(`${JSON.stringify(manifest, null, 2)}\n`);
    return 0;
  }
  const secret = manifest.spec.lmstudio as { apiKeySecretRef?: { name?: string } } | undefined;
  const note = secret?.apiKeySecretRef?.name
    ? `# The Secret ${secret.apiKeySecretRef.name} it names (the LM Studio API key) is not exported: keep it out of Git.\n`
    : '';
  io.out(
    `# SummarizerService ${session.namespace}/${name}, exported by llmplanctl: apply with kubectl apply -f, or commit it for Argo CD.\n${note}${stringify(manifest)}`,
  );
  return 0;
}
