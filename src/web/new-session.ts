// The New session sheet: what to run (Claude Code in a new conversation, Claude Code resuming one of the
// folder's earlier conversations, listed from Claude Code's own store with time and first prompt, or a
// shell), where (a recent folder, or one browsed under the agent's allowed folders), and optionally in a
// new git worktree on a new branch. Everything it asks and starts goes sealed to the agent, which checks
// it again. Text only (textContent): folder names and prompts come from elsewhere.

import type { ClientSession, FolderListing } from '../client/session.js';
import type { ConversationInfo, SessionKind } from '../protocol/index.js';
import { byId, listNote } from './dom.js';

type Choice = 'claude' | 'resume' | 'shell';

export class NewSessionSheet {
  private readonly form = byId('new-session-form') as HTMLFormElement;
  private readonly folderLabel = byId('new-folder');
  private readonly folders = byId('folder-list');
  private readonly conversations = byId('conversation-list');
  private readonly conversationBox = byId('conversations');
  private readonly worktree = byId('new-worktree') as HTMLInputElement;
  private readonly branch = byId('new-branch') as HTMLInputElement;
  private readonly error = byId('new-error');
  private readonly start = byId('new-start') as HTMLButtonElement;
  private cwd: string | undefined;
  private conversation: string | undefined;

  constructor(
    private readonly session: () => ClientSession | undefined,
    private readonly started: (terminal: number) => void,
  ) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    byId('new-cancel').addEventListener('click', () => (this.form.hidden = true));
    byId('new-browse').addEventListener('click', () => void this.browse(this.cwd));
    for (const radio of this.form.querySelectorAll<HTMLInputElement>('input[name="new-kind"]')) radio.addEventListener('change', () => void this.kindChanged());
    this.worktree.addEventListener('change', () => {
      this.branch.hidden = !this.worktree.checked;
      if (this.worktree.checked) this.branch.focus();
    });
  }

  /** Opens the sheet on the recent folders. */
  open(): void {
    this.form.hidden = false;
    this.error.hidden = true;
    this.worktree.checked = false;
    this.branch.hidden = true;
    this.branch.value = '';
    this.setFolder(undefined);
    void this.browse(undefined);
    void this.kindChanged();
  }

  private get choice(): Choice {
    return (this.form.querySelector<HTMLInputElement>('input[name="new-kind"]:checked')?.value ?? 'claude') as Choice;
  }

  private setFolder(path: string | undefined): void {
    this.cwd = path;
    this.folderLabel.textContent = path ?? "The agent's own folder";
    this.conversation = undefined;
    if (this.choice === 'resume') void this.kindChanged();
  }

  /** Lists a folder's subfolders (none given: the recent folders and the allowed roots). */
  private async browse(path: string | undefined): Promise<void> {
    const session = this.session();
    if (!session) return;
    this.folders.replaceChildren(listNote('Asking the agent…', 'sheet-note'));
    let listing: FolderListing;
    try {
      listing = await session.listFolders(path);
    } catch (error) {
      this.folders.replaceChildren(listNote((error as Error).message, 'sheet-note'));
      return;
    }
    const items: HTMLElement[] = [];
    if (listing.path !== null) {
      items.push(this.folderItem('⌂ Recent folders', undefined, false, 'folder-up'));
      if (listing.parent !== null) items.push(this.folderItem('↑ Up', listing.parent, false, 'folder-up'));
    }
    for (const entry of listing.entries) items.push(this.folderItem(listing.path === null ? entry.path : entry.name, entry.path, entry.git));
    if (listing.entries.length === 0) items.push(listNote('No folders here.', 'sheet-note'));
    this.folders.replaceChildren(...items);
  }

  private folderItem(label: string, path: string | undefined, git: boolean, className = 'folder'): HTMLElement {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    button.textContent = git ? `${label}  (git)` : label;
    button.addEventListener('click', () => {
      if (path !== undefined) this.setFolder(path);
      void this.browse(path);
    });
    item.append(button);
    return item;
  }

  private async kindChanged(): Promise<void> {
    const resume = this.choice === 'resume';
    this.conversationBox.hidden = !resume;
    this.worktree.closest('p')!.hidden = resume; // a conversation belongs to its folder
    if (!resume) return;
    const session = this.session();
    const cwd = this.cwd;
    if (!session) return;
    if (cwd === undefined) {
      this.conversations.replaceChildren(listNote('Choose the folder first: its conversations are listed here.', 'sheet-note'));
      return;
    }
    this.conversations.replaceChildren(listNote('Asking the agent…', 'sheet-note'));
    let list: ConversationInfo[];
    try {
      list = await session.listConversations(cwd);
    } catch (error) {
      this.conversations.replaceChildren(listNote((error as Error).message, 'sheet-note'));
      return;
    }
    if (cwd !== this.cwd) return; // the folder changed meanwhile
    if (list.length === 0) {
      this.conversations.replaceChildren(listNote('Claude Code has no earlier conversation in this folder.', 'sheet-note'));
      return;
    }
    this.conversations.replaceChildren(
      ...list.map((c) => {
        const item = document.createElement('li');
        const label = document.createElement('label');
        const radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = 'new-conversation';
        radio.value = c.id;
        radio.addEventListener('change', () => (this.conversation = c.id));
        const prompt = document.createElement('span');
        prompt.className = 'conversation-prompt';
        prompt.textContent = c.prompt;
        const time = document.createElement('span');
        time.className = 'conversation-time';
        time.textContent = new Date(c.time).toLocaleString();
        label.append(radio, prompt, time);
        item.append(label);
        return item;
      }),
    );
  }

  private async submit(): Promise<void> {
    const session = this.session();
    if (!session) return;
    const choice = this.choice;
    if (choice === 'resume' && this.conversation === undefined) return this.fail('Choose the conversation to resume.');
    const branch = this.worktree.checked ? this.branch.value.trim() : undefined;
    if (branch === '') return this.fail('Name the new branch for the worktree.');
    const kind: SessionKind = choice === 'shell' ? 'shell' : 'claude';
    this.start.disabled = true;
    this.error.hidden = true;
    try {
      const terminal = await session.startSession({
        kind,
        ...(this.cwd !== undefined ? { cwd: this.cwd } : {}),
        ...(choice === 'resume' ? { conversation: this.conversation! } : {}),
        ...(branch !== undefined && choice !== 'resume' ? { worktree: branch } : {}),
      });
      this.form.hidden = true;
      this.started(terminal);
    } catch (error) {
      this.fail((error as Error).message);
    } finally {
      this.start.disabled = false;
    }
  }

  private fail(message: string): void {
    this.error.textContent = message;
    this.error.hidden = false;
  }
}
