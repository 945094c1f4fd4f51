/**
 * A Git repository as a user of GitOps has one: a bare repository (Argo CD reads it
 * through a file:// URL) and a working clone to commit and push from.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class GitRepo {
  private constructor(
    private readonly dir: string,
    private readonly work: string,
  ) {}

  /** The URL an Application's spec.source.repoURL names. */
  get url(): string {
    return `file://${path.join(this.dir, 'repo.git')}`;
  }

  static async create(): Promise<GitRepo> {
    const dir = mkdtempSync(path.join(tmpdir(), 'llmplan-gitops-'));
    const repo = new GitRepo(dir, path.join(dir, 'work'));
    await run('git', ['init', '-q', '--bare', '-b', 'main', path.join(dir, 'repo.git')]);
    await run('git', ['init', '-q', '-b', 'main', repo.work]);
    await repo.git('remote', 'add', 'origin', path.join(dir, 'repo.git'));
    return repo;
  }

  /** Writes (or, for `undefined`, deletes) files, commits, pushes main; returns the commit. */
  async commit(files: Record<string, string | undefined>, message: string): Promise<string> {
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(this.work, file);
      if (content === undefined) {
        rmSync(target, { force: true });
      } else {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, content);
      }
    }
    await this.git('add', '--all');
    await this.git('commit', '-q', '-m', message);
    return this.push();
  }

  /** `git revert` of one commit, pushed; returns the new commit. */
  async revert(commit: string): Promise<string> {
    await this.git('revert', '--no-edit', commit);
    return this.push();
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async push(): Promise<string> {
    await this.git('push', '-q', 'origin', 'main');
    return (await this.git('rev-parse', 'HEAD')).trim();
  }

  private async git(...args: string[]): Promise<string> {
    const identity = ['-c', 'user.name=llmplan tests', '-c', 'user.email=tests@llmplan.invalid'];
    return (await run('git', [...identity, '-C', this.work, ...args])).stdout;
  }
}
