// A folder's earlier Claude Code conversations, read from Claude Code's own store: one JSON-lines file per
// conversation in `<config>/projects/<folder, each character other than a letter or digit made "-">/`,
// where `<config>` is CLAUDE_CONFIG_DIR or ~/.claude. Listed newest first, each with its first prompt, for
// `claude --resume ID`. Only the start of each file is read.

import { open, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MAX_LISTED, MAX_TEXT_LENGTH, printable, type ConversationInfo } from '../../protocol/index.js';

/** Bytes read from the start of a conversation's file to find its first prompt. */
const HEAD_BYTES = 64 * 1024;
/** Conversations listed. */
const LIST = Math.min(50, MAX_LISTED);

/** Where Claude Code keeps its conversations for `env`'s user. */
export function claudeProjectsDir(env: NodeJS.ProcessEnv): string {
  return join(env.CLAUDE_CONFIG_DIR ?? join(env.HOME ?? homedir(), '.claude'), 'projects');
}

/** Claude Code's folder name for a project folder. */
export function projectKey(cwd: string): string {
  return cwd.replace(/[^a-zA-Z0-9]/g, '-');
}

/** The earlier conversations of `cwd`, newest first (none when Claude Code has none there). */
export async function listConversations(cwd: string, env: NodeJS.ProcessEnv): Promise<ConversationInfo[]> {
  const dir = join(claudeProjectsDir(env), projectKey(cwd));
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => /^[A-Za-z0-9_-]{1,64}\.jsonl$/.test(name));
  } catch {
    return [];
  }
  const files = await Promise.all(
    names.map(async (name) => {
      try {
        return { name, time: (await stat(join(dir, name))).mtimeMs };
      } catch {
        return undefined;
      }
    }),
  );
  const newest = files.filter((f) => f !== undefined).sort((a, b) => b.time - a.time);
  const out: ConversationInfo[] = [];
  for (const file of newest) {
    if (out.length >= LIST) break;
    const prompt = await firstPrompt(join(dir, file.name));
    // A file with no prompt holds no conversation to go back to.
    if (prompt !== undefined) out.push({ id: file.name.slice(0, -'.jsonl'.length), time: Math.round(file.time), prompt });
  }
  return out;
}

/** The first thing the person typed in a conversation's file, as one printable line. */
async function firstPrompt(path: string): Promise<string | undefined> {
  let head: string;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    head = buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  for (const line of head.split('\n')) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // the last line may be cut
    }
    const text = promptText(entry);
    if (text) return printable(text).replace(/\s+/g, ' ').trim().slice(0, Math.min(200, MAX_TEXT_LENGTH));
  }
  return undefined;
}

/** The text of a user's message in a conversation entry; not of what Claude Code adds itself (commands, meta). */
function promptText(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as { type?: unknown; isMeta?: unknown; isSidechain?: unknown; message?: { role?: unknown; content?: unknown } };
  if (e.type !== 'user' || e.isMeta === true || e.isSidechain === true || e.message?.role !== 'user') return undefined;
  const content = e.message.content;
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((part: unknown) => (typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text' ? String((part as { text?: unknown }).text ?? '') : '')).join(' ')
        : '';
  // Claude Code's own entries (a slash command, a caveat) come wrapped in tags.
  return text.trim() === '' || text.trimStart().startsWith('<') ? undefined : text;
}
