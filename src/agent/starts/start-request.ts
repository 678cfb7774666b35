// What a `start` request from a client becomes: a session's program, folder and name, after every check
// (the folder under the allowed roots, the conversation one of that folder's, the program installed).
// Anything that cannot be done is a StartRefused with words for the person.

import { basename } from 'node:path';
import type { ClientChannelMessage } from '../../protocol/index.js';
import { resolveCommand } from '../pty-process.js';
import { StartRefused } from '../sessions.js';
import type { SessionSpec } from '../terminal-session.js';
import { listConversations } from './conversations.js';
import type { Roots } from './folders.js';
import { addWorktree } from './worktree.js';

export type StartRequest = Extract<ClientChannelMessage, { type: 'start' }>;

/** What a start needs from the agent. */
export interface StartContext {
  roots: Roots;
  /** The folder sessions start in when the request names none (the agent's own). */
  defaultCwd: string;
  env: NodeJS.ProcessEnv;
  /** How Claude Code is run (default `claude`, found on the PATH). */
  claudeCommand: string;
  /** Whether Claude Code gets the attention hooks. */
  attentionHooks: boolean;
}

export async function resolveStart(request: StartRequest, context: StartContext): Promise<SessionSpec> {
  let cwd = request.cwd === undefined ? context.defaultCwd : await context.roots.folder(request.cwd);
  if (request.kind === 'claude' && request.conversation !== undefined) {
    const known = await listConversations(cwd, context.env);
    if (!known.some((c) => c.id === request.conversation)) throw new StartRefused(`There is no Claude Code conversation ${request.conversation} in ${cwd}.`);
  }
  if (request.worktree !== undefined) cwd = await addWorktree(cwd, request.worktree, context.env, (folder) => context.roots.holds(folder));
  const [command, args] = commandOf(request, context);
  const executable = resolveCommand(command, cwd, context.env.PATH);
  if (!executable) {
    throw new StartRefused(request.kind === 'claude' ? 'Claude Code is not installed on this computer (npm install -g @anthropic-ai/claude-code).' : `${command}: command not found.`);
  }
  const folder = basename(cwd) || cwd;
  return {
    kind: request.kind,
    executable,
    command,
    args,
    cwd,
    env: context.env,
    name: request.kind === 'claude' ? folder : `${folder} · ${basename(command)}`,
    attentionHooks: request.kind === 'claude' && context.attentionHooks,
    restart: false,
    ...(request.worktree !== undefined ? { worktree: request.worktree } : {}),
  };
}

function commandOf(request: StartRequest, context: StartContext): [string, string[]] {
  switch (request.kind) {
    case 'claude':
      return [context.claudeCommand, request.conversation !== undefined ? ['--resume', request.conversation] : []];
    case 'shell':
      return [context.env.SHELL || '/bin/sh', []];
    case 'command': {
      const [command, ...args] = request.command ?? [];
      if (!command) throw new StartRefused('No command was given.');
      return [command, args];
    }
  }
}
