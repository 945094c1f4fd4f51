import { describe, expect, it } from 'vitest';
import {
  MIGRATE_TIMEOUT_MS,
  parseCommandLine,
  parseDuration,
  parseRevisionSelector,
  UsageError,
  usage,
} from './args.js';

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('parses each command with its name', () => {
    expect(parseCommandLine(['status', 'llmplan'])).toEqual({
      command: 'status',
      target: { name: 'llmplan' },
    });
    expect(parseCommandLine(['pause', 'a'])).toEqual({ command: 'pause', target: { name: 'a' } });
    expect(parseCommandLine(['resume', 'a'])).toEqual({ command: 'resume', target: { name: 'a' } });
    expect(parseCommandLine(['rollback', 'a'])).toEqual({
      command: 'rollback',
      target: { name: 'a' },
      dryRun: false,
    });
  });

  it('takes connection flags before or after the command, long or short', () => {
    const expected = {
      command: 'history',
      target: { name: 'llmplan', namespace: 'prod', kubeconfig: '/k', context: 'c' },
      output: 'json',
    };
    expect(
      parseCommandLine([
        'history',
        'llmplan',
        '-n',
        'prod',
        '--kubeconfig',
        '/k',
        '--context',
        'c',
        '-o',
        'json',
      ]),
    ).toEqual(expected);
    expect(
      parseCommandLine([
        '--namespace=prod',
        '--kubeconfig=/k',
        '--context=c',
        'history',
        '-o',
        'json',
        'llmplan',
      ]),
    ).toEqual(expected);
  });

  it('parses --to-revision as a number or a hash, and --dry-run', () => {
    expect(parseCommandLine(['rollback', 'a', '--to-revision', '3', '--dry-run'])).toEqual({
      command: 'rollback',
      target: { name: 'a' },
      toRevision: { number: 3 },
      dryRun: true,
    });
    expect(parseRevisionSelector('5d8f9c7b6a')).toEqual({ hash: '5d8f9c7b6a' });
    for (const bad of ['0', '-1', 'v1', 'ABCDEF', '1.5', '']) {
      expect(() => parseRevisionSelector(bad), bad).toThrow(UsageError);
    }
  });

  it('answers help for -h, help and help COMMAND', () => {
    expect(parseCommandLine(['-h'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['help', 'rollback'])).toEqual({ command: 'help', topic: 'rollback' });
    expect(parseCommandLine(['rollback', '--help'])).toEqual({
      command: 'help',
      topic: 'rollback',
    });
    expect(parseCommandLine(['status', 'x', '-h'])).toEqual({ command: 'help', topic: 'status' });
  });

  it('refuses what it cannot run, naming the problem and the command', () => {
    expect(usageError([]).message).toBe('missing command');
    expect(usageError(['frobnicate', 'x']).message).toBe('unknown command "frobnicate"');
    expect(usageError(['help', 'frobnicate']).message).toBe('unknown command "frobnicate"');
    expect(usageError(['status'])).toMatchObject({
      message: 'status needs the name of a SummarizerService',
      topic: 'status',
    });
    expect(usageError(['status', 'a', 'b']).message).toBe('unexpected argument "b"');
    expect(usageError(['status', 'a', '-o', 'wide']).message).toMatch(
      /unknown output format "wide"/,
    );
    expect(usageError(['pause', 'a', '--to-revision', '2']).message).toBe(
      'pause does not take --to-revision',
    );
    expect(usageError(['rollback', 'a', '-o', 'json']).message).toBe(
      'rollback does not take --output',
    );
    expect(usageError(['status', 'a', '--bogus']).message).toMatch(/--bogus/);
    expect(usageError(['status', 'a', '--bogus']).topic).toBe('status');
    expect(usageError(['status', 'a', '-n']).message).toMatch(/-n/);
    expect(usageError(['status', 'a', '--namespace=']).message).toBe(
      '--namespace must not be empty',
    );
  });
});

describe('usage', () => {
  it('names the program as it was started and lists every command', () => {
    const text = usage('kubectl llmplan');
    expect(text).toMatch(/^Usage: kubectl llmplan COMMAND NAME/);
    for (const command of ['status', 'history', 'rollback', 'pause', 'resume']) {
      expect(text).toContain(`  ${command} NAME`);
    }
    expect(text).toContain('--kubeconfig');
  });

  it('describes one command with its own flags and the connection flags', () => {
    const text = usage('llmplanctl', 'rollback');
    expect(text).toMatch(/^Usage: llmplanctl rollback NAME \[--to-revision N\]/);
    expect(text).toContain('--dry-run');
    expect(text).toContain('--namespace');
    expect(text).toContain('Git');
    expect(usage('llmplanctl', 'pause')).not.toContain('--output');
  });
});

describe('migrate and export', () => {
  it('parses migrate helm RELEASE with its flags', () => {
    expect(parseCommandLine(['migrate', 'helm', 'llmplan', '-n', 'prod'])).toEqual({
      command: 'migrate',
      source: 'helm',
      target: { name: 'llmplan', namespace: 'prod' },
      dryRun: false,
      timeoutMs: MIGRATE_TIMEOUT_MS,
    });
    expect(
      parseCommandLine([
        'migrate',
        'helm',
        'llmplan',
        '--dry-run',
        '-o',
        'yaml',
        '--name',
        'llmplan',
        '--timeout',
        '90s',
      ]),
    ).toMatchObject({ dryRun: true, output: 'yaml', name: 'llmplan', timeoutMs: 90_000 });
  });

  it('refuses a migrate command line it cannot run, naming why', () => {
    expect(usageError(['migrate']).message).toContain('migrate helm RELEASE');
    expect(usageError(['migrate', 'kustomize', 'x']).message).toContain('the only source is helm');
    expect(usageError(['migrate', 'helm']).message).toContain('name of a Helm release');
    expect(usageError(['migrate', 'helm', 'a', 'b']).message).toContain('unexpected argument "b"');
    expect(usageError(['migrate', 'helm', 'a', '-o', 'yaml']).message).toContain('with --dry-run');
    expect(usageError(['migrate', 'helm', 'a', '--timeout', '5 minutes']).message).toContain(
      '--timeout must be a duration',
    );
    expect(usageError(['status', 'a', '--name', 'b']).message).toBe('status does not take --name');
  });

  it('parses durations in seconds, minutes and hours', () => {
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(() => parseDuration('0s')).toThrow(UsageError);
  });

  it('parses export NAME', () => {
    expect(parseCommandLine(['export', 'llmplan', '-n', 'prod'])).toEqual({
      command: 'export',
      target: { name: 'llmplan', namespace: 'prod' },
      keepDefaults: false,
    });
    expect(parseCommandLine(['export', 'a', '-o', 'json', '--keep-defaults'])).toMatchObject({
      output: 'json',
      keepDefaults: true,
    });
    expect(usageError(['export', 'a', '--dry-run']).message).toBe('export does not take --dry-run');
  });

  it('documents both in the usage', () => {
    expect(usage('llmplanctl')).toContain('migrate helm RELEASE');
    expect(usage('llmplanctl', 'migrate')).toContain('--dry-run');
    expect(usage('llmplanctl', 'export')).toContain('--keep-defaults');
  });
});
