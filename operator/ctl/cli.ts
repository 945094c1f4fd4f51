/**
 * One llmplanctl invocation: argv in, output through `io`, exit code out —
 * 0 done, 1 failed (message on stderr), 2 usage error (message and usage on stderr).
 */
import { type ParsedCommand, parseCommandLine, UsageError, usage } from './args.js';
import {
  historyCommand,
  type Io,
  recommendCommand,
  setPaused,
  statusCommand,
  topCommand,
} from './commands.js';
import { connect, type Session } from './connect.js';
import { CtlError } from './errors.js';
import { migrateHelmCommand } from './migrate/command.js';
import { exportCommand } from './migrate/export.js';
import { rollbackCommand } from './rollback.js';

export interface RunOptions {
  /** "llmplanctl", or "kubectl llmplan" when run as the kubectl plugin. */
  program: string;
  env: NodeJS.ProcessEnv;
  io: Io;
}

/** The name to show in usage, from how the program was started. */
export function programName(scriptPath: string | undefined): string {
  const base = (scriptPath ?? '').split(/[\\/]/).pop() ?? '';
  return base.startsWith('kubectl-') ? `kubectl ${base.slice('kubectl-'.length)}` : 'llmplanctl';
}

export async function run(argv: readonly string[], options: RunOptions): Promise<number> {
  const { io, program } = options;
  let command: ParsedCommand;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\n\n${usage(program, err.topic)}`);
    return 2;
  }
  if (command.command === 'help') {
    io.out(usage(program, command.topic));
    return 0;
  }
  let session: Session | undefined;
  try {
    session = await connect(command.target, options.env);
    return await dispatch(session, command, io);
  } catch (err) {
    if (err instanceof CtlError) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  } finally {
    await session?.close();
  }
}

function dispatch(
  session: Session,
  command: Exclude<ParsedCommand, { command: 'help' }>,
  io: Io,
): Promise<number> {
  const name = command.target.name;
  switch (command.command) {
    case 'status':
      return statusCommand(session, name, command.output, io);
    case 'history':
      return historyCommand(session, name, command.output, io);
    case 'top':
      return topCommand(session, name, command.output, io);
    case 'recommend':
      return recommendCommand(session, name, command.output, io);
    case 'rollback':
      return rollbackCommand(session, name, command, io);
    case 'pause':
      return setPaused(session, name, true, io);
    case 'resume':
      return setPaused(session, name, false, io);
    case 'export':
      return exportCommand(session, name, command, io);
    case 'migrate':
      return migrateHelmCommand(
        session,
        {
          release: name,
          dryRun: command.dryRun,
          timeoutMs: command.timeoutMs,
          ...(command.name ? { name: command.name } : {}),
          ...(command.output ? { output: command.output } : {}),
        },
        io,
      );
  }
}
