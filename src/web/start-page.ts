// The start page (the relay's root, and the installed app's start URL): the agents this device has
// opened, each with its name and whether it is online right now, to open or forget. Presence is asked
// of the relay with each link's access token (never its secret), every few seconds while the page is
// visible. Links that need a PIN cannot be asked about without it: they show "PIN".

import { accessToken, viewSecret } from '../protocol/index.js';
import { forgetAgent, pairedAgents, type PairedAgent } from './storage.js';

const POLL_MS = 5000;

type Presence = { id: string; online: boolean; name?: string } | { id: string; error: string };

/** Shows the list in #start (or the first-visit text if there is none); returns false if there is none. */
export function showStartPage(relayUrl: string): boolean {
  const section = document.getElementById('start')!;
  const list = document.getElementById('agents')!;
  const here = (): PairedAgent[] => pairedAgents().filter((a) => a.relayUrl === relayUrl);
  if (here().length === 0) return false;
  section.hidden = false;
  document.body.dataset.page = 'start';

  const rows = new Map<string, HTMLElement>();
  const render = (): void => {
    list.replaceChildren();
    rows.clear();
    for (const agent of here()) {
      const row = agentRow(agent, () => {
        const label = agent.name ?? agent.agentId;
        if (!window.confirm(`Forget "${label}" on this device? You will need its link again to reach it.`)) return;
        forgetAgent(relayUrl, agent.agentId);
        render();
        if (here().length === 0) location.reload();
      });
      rows.set(agent.agentId, row);
      list.append(row);
    }
  };

  let timer: number | undefined;
  const poll = async (): Promise<void> => {
    window.clearTimeout(timer);
    const agents = here().filter((a) => !a.pin);
    if (agents.length > 0 && document.visibilityState === 'visible') {
      try {
        const body = JSON.stringify({
          agents: agents.map((a) => ({ id: a.agentId, token: accessToken(a.readOnly ? a.secret : viewSecret(a.secret, a.agentId), a.agentId) })),
        });
        const response = await fetch(`${relayUrl}/api/presence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, cache: 'no-store' });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const answer = (await response.json()) as { agents: Presence[] };
        for (const presence of answer.agents) showPresence(rows.get(presence.id), presence);
        document.getElementById('start-note')!.hidden = true;
      } catch {
        for (const agent of agents) showPresence(rows.get(agent.agentId), undefined);
        const note = document.getElementById('start-note')!;
        note.textContent = navigator.onLine ? 'The relay cannot be reached right now.' : 'This device is offline.';
        note.hidden = false;
      }
    }
    timer = window.setTimeout(() => void poll(), POLL_MS);
  };
  render();
  void poll();
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && void poll());
  window.addEventListener('online', () => void poll());
  return true;
}

function agentRow(agent: PairedAgent, forget: () => void): HTMLElement {
  const row = document.createElement('li');
  row.className = 'agent';
  row.dataset.agent = agent.agentId;
  row.dataset.presence = agent.pin ? 'pin' : 'unknown';
  const link = document.createElement('a');
  link.href = `${agent.relayUrl}/a/${agent.agentId}`;
  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const name = document.createElement('span');
  name.className = 'agent-name';
  name.textContent = agent.name ?? `Agent ${agent.agentId.slice(0, 6)}`;
  const state = document.createElement('span');
  state.className = 'agent-state';
  state.textContent = agent.pin ? 'PIN' : '…';
  link.append(dot, name, state);
  if (agent.readOnly) {
    const badge = document.createElement('span');
    badge.className = 'access';
    badge.textContent = 'View only';
    link.append(badge);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'forget';
  button.textContent = 'Forget';
  button.setAttribute('aria-label', `Forget ${name.textContent}`);
  button.addEventListener('click', forget);
  row.append(link, button);
  return row;
}

function showPresence(row: HTMLElement | undefined, presence: Presence | undefined): void {
  if (!row) return;
  const state = row.querySelector('.agent-state')!;
  if (presence === undefined) {
    row.dataset.presence = 'unknown';
    state.textContent = 'Unknown';
  } else if ('error' in presence) {
    row.dataset.presence = 'refused';
    state.textContent = 'Link replaced';
  } else {
    row.dataset.presence = presence.online ? 'online' : 'offline';
    state.textContent = presence.online ? 'Online' : 'Offline';
    if (presence.name) row.querySelector('.agent-name')!.textContent = presence.name;
  }
}
