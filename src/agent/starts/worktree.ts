// A new git worktree on a new branch, for a session that should not touch the folder's own checkout: made
// with git itself under `<top of the repository>/.ccremote/worktrees/<branch>`, a folder git is told to
// ignore (`.ccremote/.gitignore` holds "*").

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StartRefused } from '../sessions.js';

const run = promisify(execFile);

/** Runs git in `cwd`; StartRefused with git's own words when it fails. */
async function git(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, env, timeout: 30_000 });
    return stdout.trim();
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new StartRefused('git is not installed on this computer.');
    throw new StartRefused(`git ${args[0]} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-1)[0]}`);
  }
}

/** Makes the worktree for `branch` (a new branch from the current commit); returns its folder. */
export async function addWorktree(cwd: string, branch: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (branch.startsWith('-') || branch.includes('..') || branch.endsWith('/') || branch.endsWith('.lock')) {
    throw new StartRefused(`"${branch}" is not a branch name git takes.`);
  }
  const top = await git(cwd, ['rev-parse', '--show-toplevel'], env).catch(() => {
    throw new StartRefused(`${cwd} is not in a git repository: a worktree needs one.`);
  });
  await git(top, ['check-ref-format', '--branch', branch], env);
  const base = join(top, '.ccremote');
  const folder = join(base, 'worktrees', branch.replaceAll('/', '-'));
  if (existsSync(folder)) throw new StartRefused(`A worktree for ${branch} exists already (${folder}).`);
  await mkdir(base, { recursive: true });
  if (!existsSync(join(base, '.gitignore'))) await writeFile(join(base, '.gitignore'), '*\n');
  await git(top, ['worktree', 'add', '-b', branch, folder], env);
  return folder;
}

/** Takes back a worktree just made (its branch stays: it holds nothing of its own yet); StartRefused if git cannot. */
export async function removeWorktree(folder: string, env: NodeJS.ProcessEnv): Promise<void> {
  await git(folder, ['worktree', 'remove', '--force', folder], env);
}
