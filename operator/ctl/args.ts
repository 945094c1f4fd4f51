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
  'export',
  'migrate',
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
  | { command: 'pause' | 'resume'; target: Target }
  | { command: 'export'; target: Target; output?: OutputFormat; keepDefaults: boolean }
  | {
      command: 'migrate';
      /** What to migrate from; `helm` is the only source. target.name is the release. */
      source: 'helm';
      target: Target;
      /** --name: the SummarizerService's name. */
      name?: string;
      dryRun: boolean;
      timeoutMs: number;
      output?: OutputFormat;
    };

/** Where `migrate` moves resources from. */
export const MIGRATE_SOURCES = ['helm'] as const;
/** Default --timeout of migrate. */
export const MIGRATE_TIMEOUT_MS = 10 * 60_000;

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
  name: { type: 'string' },
  timeout: { type: 'string' },
  'keep-defaults': { type: 'boolean' },
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
  export: ['output', 'keep-defaults'],
  migrate: ['dry-run', 'name', 'timeout', 'output'],
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

  for (const flag of [
    'output',
    'to-revision',
    'dry-run',
    'name',
    'timeout',
    'keep-defaults',
  ] as const) {
    if (values[flag] !== undefined && !COMMAND_FLAGS[word].includes(flag)) {
      throw new UsageError(`${word} does not take --${flag}`, word);
    }
  }
  if (word === 'migrate') return parseMigrate(rest, values);
  const [name, ...extra] = rest;
  if (name === undefined)
    throw new UsageError(`${word} needs the name of a SummarizerService`, word);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, word);

  const target = targetOf(name, values);

  switch (word) {
    case 'status':
    case 'history':
    case 'top':
    case 'recommend': {
      const output = outputOf(values.output, word);
      return output ? { command: word, target, output } : { command: word, target };
    }
    case 'export': {
      const output = outputOf(values.output, word);
      return {
        command: 'export',
        target,
        keepDefaults: values['keep-defaults'] ?? false,
        ...(output ? { output } : {}),
      };
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

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

function targetOf(name: string, values: Values): Target {
  const target: Target = { name };
  if (values.namespace !== undefined) target.namespace = nonEmpty('namespace', values.namespace);
  if (values.kubeconfig !== undefined)
    target.kubeconfig = nonEmpty('kubeconfig', values.kubeconfig);
  if (values.context !== undefined) target.context = nonEmpty('context', values.context);
  return target;
}

function outputOf(output: string | undefined, topic: CommandName): OutputFormat | undefined {
  if (output === undefined) return undefined;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new UsageError(
      `unknown output format "${output}"; use ${OUTPUT_FORMATS.join(' or ')}`,
      topic,
    );
  }
  return output as OutputFormat;
}

/** `migrate helm RELEASE [--name NAME] [--dry-run [-o yaml|json]] [--timeout 10m]`. */
function parseMigrate(rest: string[], values: Values): ParsedCommand {
  const [source, release, ...extra] = rest;
  if (source === undefined) {
    throw new UsageError('migrate needs what to migrate from: migrate helm RELEASE', 'migrate');
  }
  if (!(MIGRATE_SOURCES as readonly string[]).includes(source)) {
    throw new UsageError(`cannot migrate from "${source}"; the only source is helm`, 'migrate');
  }
  if (release === undefined)
    throw new UsageError('migrate helm needs the name of a Helm release', 'migrate');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, 'migrate');
  const dryRun = values['dry-run'] ?? false;
  const output = outputOf(values.output, 'migrate');
  if (output && !dryRun) {
    throw new UsageError(
      '-o prints the SummarizerService instead of creating it: use it with --dry-run',
      'migrate',
    );
  }
  return {
    command: 'migrate',
    source: 'helm',
    target: targetOf(release, values),
    ...(values.name !== undefined ? { name: nonEmpty('name', values.name) } : {}),
    dryRun,
    timeoutMs: values.timeout === undefined ? MIGRATE_TIMEOUT_MS : parseDuration(values.timeout),
    ...(output ? { output } : {}),
  };
}

/** `90`, `90s`, `10m`, `1h` → milliseconds. */
export function parseDuration(raw: string): number {
  const match = /^([1-9][0-9]*)(s|m|h)?$/.exec(raw);
  if (!match) {
    throw new UsageError(
      `--timeout must be a duration such as 90s, 10m or 1h, not "${raw}"`,
      'migrate',
    );
  }
  const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
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
  export: {
    usage: 'export NAME [-o yaml|json] [--keep-defaults]',
    summary: 'the resource as it belongs in Git',
    about:
      'Prints the SummarizerService as it belongs in Git: no status, no server-written fields\n(uid, resourceVersion, managedFields, timestamps, last-applied configuration, Argo CD\ntracking), and no field that only repeats the CRD default.',
    flags:
      '  -o, --output FORMAT    yaml (default) or json\n      --keep-defaults    keep the fields whose value is the CRD default',
  },
  migrate: {
    usage: 'migrate helm RELEASE [--dry-run] [--name N]',
    summary: 'move a Helm release of chart llmplan under a SummarizerService',
    about:
      "Moves a running Helm release of chart llmplan under a SummarizerService without\ndowntime: maps every value (or says why not), lets the operator adopt the release's\nobjects in place, rolls the pods without ever sending a request to a stopping one,\nthen retires the release (its Secrets kept, no longer Helm's). Needs no helm binary.",
    flags:
      "      --name NAME        name of the SummarizerService (default: the release's object names)\n      --dry-run          print the SummarizerService, the values and every step; change nothing\n  -o, --output FORMAT    with --dry-run: print only the SummarizerService, as yaml or json\n      --timeout DURATION give up after this long (default 10m); run it again to continue",
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
