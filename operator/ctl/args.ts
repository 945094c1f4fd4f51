/**
 * The command line of llmplanctl (and of the kubectl plugin `kubectl llmplan`, which kubectl
 * runs as `kubectl-llmplan ARGS…`): commands, flags, usage texts. Pure: argv in, a parsed
 * command or a UsageError (exit code 2) out.
 *
 * Flags may come before or after the command and the name, as with kubectl
 * (`status llmplan -n prod` and `-n prod status llmplan` are the same).
 */
import { parseArgs } from 'node:util';

export const COMMANDS = [
  'status',
  'history',
  'top',
  'recommend',
  'rollback',
  'pause',
  'resume',
] as const;
export type CommandName = (typeof COMMANDS)[number];

export const OUTPUT_FORMATS = ['json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Where the resource lives; every field left out takes the kubeconfig's default. */
export interface Target {
  name: string;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

/** `--to-revision`: a revision number, or a template hash as status.*Revision fields hold. */
export type RevisionSelector = { number: number } | { hash: string };

export type ParsedCommand =
  | { command: 'help'; topic?: CommandName }
  | {
      command: 'status' | 'history' | 'top' | 'recommend';
      target: Target;
      output?: OutputFormat;
    }
  | { command: 'rollback'; target: Target; toRevision?: RevisionSelector; dryRun: boolean }
  | { command: 'pause' | 'resume'; target: Target };

/** A command line that cannot be run; main prints the message and the usage, exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The command whose usage to print, if known. */
    readonly topic?: CommandName,
  ) {
    super(message);
  }
}

const OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'to-revision': { type: 'string' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flags each command accepts besides the connection flags and -h. */
const COMMAND_FLAGS: Record<CommandName, readonly string[]> = {
  status: ['output'],
  history: ['output'],
  top: ['output'],
  recommend: ['output'],
  rollback: ['to-revision', 'dry-run'],
  pause: [],
  resume: [],
};

export function isCommand(word: string | undefined): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word ?? '');
}

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const topic = argv.find(isCommand);
    throw new UsageError(err instanceof Error ? err.message : String(err), topic);
  }
  const { values, positionals } = parsed;
  const [word, ...rest] = positionals;

  if (word === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isCommand(topic))
      throw new UsageError(`unknown command "${topic}"`);
    return { command: 'help', topic };
  }
  if (word === undefined) {
    if (values.help) return { command: 'help' };
    throw new UsageError('missing command');
  }
  if (!isCommand(word)) throw new UsageError(`unknown command "${word}"`);
  if (values.help) return { command: 'help', topic: word };

  for (const flag of ['output', 'to-revision', 'dry-run'] as const) {
    if (values[flag] !== undefined && !COMMAND_FLAGS[word].includes(flag)) {
      throw new UsageError(`${word} does not take --${flag}`, word);
    }
  }
  const [name, ...extra] = rest;
  if (name === undefined)
    throw new UsageError(`${word} needs the name of a SummarizerService`, word);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, word);

  const target: Target = { name };
  if (values.namespace !== undefined) target.namespace = nonEmpty('namespace', values.namespace);
  if (values.kubeconfig !== undefined)
    target.kubeconfig = nonEmpty('kubeconfig', values.kubeconfig);
  if (values.context !== undefined) target.context = nonEmpty('context', values.context);

  switch (word) {
    case 'status':
    case 'history':
    case 'top':
    case 'recommend': {
      const output = values.output;
      if (output === undefined) return { command: word, target };
      if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
        throw new UsageError(
          `unknown output format "${output}"; use ${OUTPUT_FORMATS.join(' or ')}`,
          word,
        );
      }
      return { command: word, target, output: output as OutputFormat };
    }
    case 'rollback': {
      const raw = values['to-revision'];
      return {
        command: 'rollback',
        target,
        ...(raw !== undefined ? { toRevision: parseRevisionSelector(raw) } : {}),
        dryRun: values['dry-run'] ?? false,
      };
    }
    case 'pause':
    case 'resume':
      return { command: word, target };
  }
}

export function parseRevisionSelector(raw: string): RevisionSelector {
  if (/^[1-9][0-9]*$/.test(raw)) return { number: Number(raw) };
  // A template hash (what status.currentRevision & co. hold) is accepted too.
  if (/^[a-z0-9]{5,63}$/.test(raw) && /[a-z]/.test(raw)) return { hash: raw };
  throw new UsageError(
    `--to-revision must be a revision number (1, 2, …) or a template hash, not "${raw}"`,
    'rollback',
  );
}

function nonEmpty(flag: string, value: string): string {
  if (value === '') throw new UsageError(`--${flag} must not be empty`);
  return value;
}

const CONNECTION_FLAGS = `Flags:
  -n, --namespace NS     namespace (default: the kubeconfig context's namespace, else "default")
      --kubeconfig PATH  kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME     kubeconfig context (default: current-context)
  -h, --help             this help`;

const COMMAND_HELP: Record<
  CommandName,
  { usage: string; summary: string; about: string; flags?: string }
> = {
  status: {
    usage: 'status NAME [-o json|yaml]',
    summary: 'conditions, replicas, image, revisions, remediation, endpoint',
    about:
      'Conditions, replicas, image, revisions (current, last healthy, failed, served), the\nremediation in effect and the endpoint of one SummarizerService.',
    flags: '  -o, --output FORMAT    json or yaml instead of the readable text',
  },
  history: {
    usage: 'history NAME [-o json|yaml]',
    summary: 'revisions and the remediation actions taken',
    about:
      'Revisions of the pod template (number, hash, created, image, health), marking the\ncurrent, last healthy, failed and served ones, and the remediation actions taken.',
    flags: '  -o, --output FORMAT    json or yaml instead of the readable text',
  },
  top: {
    usage: 'top NAME [-o json|yaml]',
    summary: "each pod's load: in flight, queued, waits, shed, LLM latency",
    about:
      "The load the operator reads from each pod's /metrics (status.load): LM Studio calls in\nflight / allowed, requests queued, p95 wait for a slot, requests shed per minute, p95 of\nLM Studio's latency, errors per minute; the state (Calm, Busy, Saturated,\nBackendSaturated, Unknown) and LM Studio's usual latency.",
    flags: '  -o, --output FORMAT    json or yaml (status.load) instead of the table',
  },
  recommend: {
    usage: 'recommend NAME [-o json|yaml]',
    summary: 'resource advice from metrics-server, as a patch',
    about:
      "The resources the operator advises from metrics-server's usage by the runbook's rules\n(status.recommendations), printed as a merge patch of spec.resources to apply with\n`kubectl patch --type merge --patch-file` or to commit. Never applied by the operator.",
    flags: '  -o, --output FORMAT    json or yaml: the patch alone (default: yaml with comments)',
  },
  rollback: {
    usage: 'rollback NAME [--to-revision N] [--dry-run]',
    summary: "write a revision's spec back into the resource",
    about:
      "Writes a revision's spec back into the SummarizerService (the `helm rollback` of\nkubectl users). Default target: the last healthy revision, else the previous one.\nspec.paused is kept. GitOps users: revert the change in Git instead — Argo CD puts\nthe Git spec back on its next sync unless auto-sync is off.",
    flags:
      '      --to-revision N    revision number (or template hash) to roll back to\n      --dry-run          print what would change, change nothing',
  },
  pause: {
    usage: 'pause NAME',
    summary: 'stop the operator acting on the resource',
    about:
      'Sets spec.paused: the operator changes nothing and takes no remediation action until\nresumed; status is still reported.',
  },
  resume: {
    usage: 'resume NAME',
    summary: 'let the operator act again',
    about: 'Clears spec.paused: the operator reconciles and remediates again.',
  },
};

/** Usage of the whole program, or of one command. `program`: "llmplanctl" or "kubectl llmplan". */
export function usage(program: string, topic?: CommandName): string {
  if (topic) {
    const help = COMMAND_HELP[topic];
    const flags = help.flags ? `${help.flags}\n${CONNECTION_FLAGS.replace('Flags:\n', '')}` : '';
    return `Usage: ${program} ${help.usage} [flags]\n\n${help.about}\n\n${
      flags ? `Flags:\n${flags}` : CONNECTION_FLAGS
    }\n`;
  }
  const lines = COMMANDS.map(
    (c) => `  ${COMMAND_HELP[c].usage.padEnd(46)}${COMMAND_HELP[c].summary}`,
  );
  return `Usage: ${program} COMMAND NAME [flags]

Operate SummarizerServices (llmplan.io/v1alpha1) from the command line.

Commands:
${lines.join('\n')}

${CONNECTION_FLAGS}

Run "${program} COMMAND -h" for the flags of one command.
`;
}
