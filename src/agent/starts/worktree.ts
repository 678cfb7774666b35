// A new git worktree on a new branch, for a session that should not touch the folder's own checkout: made
// with git itself under `<top of the repository>/.ccremote/worktrees/<branch>`, a folder git is told to
// ignore (`.ccremote/.gitignore` holds "*").

import { execFile } from 'node:child_process';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
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

/**
 * Makes the worktree for `branch` (a new branch from the current commit); returns its folder. `allowed` says
 * whether a folder may be used: the repository's top must be, before anything is written there. Nothing it
 * writes follows a symbolic link (a repository may hold one where `.ccremote` goes).
 */
export async function addWorktree(cwd: string, branch: string, env: NodeJS.ProcessEnv, allowed: (folder: string) => boolean): Promise<string> {
  if (branch.startsWith('-') || branch.includes('..') || branch.endsWith('/') || branch.endsWith('.lock')) {
    throw new StartRefused(`"${branch}" is not a branch name git takes.`);
  }
  const top = await git(cwd, ['rev-parse', '--show-toplevel'], env).catch(() => {
    throw new StartRefused(`${cwd} is not in a git repository: a worktree needs one.`);
  });
  if (!allowed(realpathSync(top))) {
    throw new StartRefused("The repository's top folder is outside the folders this agent allows (its --root), so a worktree cannot be made there.");
  }
  await git(top, ['check-ref-format', '--branch', branch], env);
  const base = join(top, '.ccremote');
  const ignore = join(base, '.gitignore');
  for (const path of [base, ignore, join(base, 'worktrees')]) {
    if (linkAt(path)) throw new StartRefused(`${path} is a symbolic link: no worktree is made through it.`);
  }
  const folder = join(base, 'worktrees', branch.replaceAll('/', '-'));
  if (existsSync(folder) || linkAt(folder)) throw new StartRefused(`A worktree for ${branch} exists already (${folder}).`);
  await mkdir(base, { recursive: true });
  await writeFile(ignore, '*\n', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await git(top, ['worktree', 'add', '-b', branch, folder], env);
  return folder;
}

/** Whether a symbolic link is at `path` (followed by nothing here). */
function linkAt(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
