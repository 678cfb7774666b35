// The start page (the relay's root, and the installed app's start URL): the agents this device has
// opened, each with its name and whether it is online right now, to open or forget. Presence is asked
// of the relay with the token each would connect with (a paired device's, or a link's view token; never
// a secret), every few seconds while the page is visible. One the relay refuses (a revoked device, a
// replaced link) is not asked about again: each refusal counts against the relay's budget of failed attempts.

import { MAX_PRESENCE_AGENTS, accessToken, deviceToken, parsePresenceAnswer, viewSecret, type Presence } from '../protocol/index.js';
import { forgetAgent, rememberedAgents, type RememberedAgent } from './storage.js';
import { stopAlerts } from './stop-alerts.js';

const POLL_MS = 5000;

/** Shows the list in #start; returns false (showing nothing) if this device remembers no agent of this relay. */
export function showStartPage(relayUrl: string): boolean {
  const section = document.getElementById('start')!;
  const list = document.getElementById('agents')!;
  const note = document.getElementById('start-note')!;
  const here = (): RememberedAgent[] => rememberedAgents().filter((a) => a.relayUrl === relayUrl);
  if (here().length === 0) return false;
  section.hidden = false;
  document.body.dataset.page = 'start';

  const rows = new Map<string, HTMLElement>();
  /** Agents the relay refused (a replaced link): not asked about again while this page is open. */
  const refused = new Set<string>();
  const render = (): void => {
    list.replaceChildren();
    rows.clear();
    for (const agent of here()) {
      const row = agentRow(agent, () => {
        const label = row.querySelector('.agent-name')!.textContent;
        if (!window.confirm(`Forget "${label}" on this device? You will need its link again to reach it.`)) return;
        forgetAgent(relayUrl, agent.agentId);
        render();
        // Its alerts go too: the agent is told while this page still holds the credential (in memory only).
        void stopAlerts(agent).then((stopped) => {
          if (!stopped) {
            note.textContent = `"${label}" could not be told to stop sending alerts to this device; turn them off in its menu, or revoke this device there.`;
            note.hidden = false;
          } else if (here().length === 0) location.reload();
        });
      });
      rows.set(agent.agentId, row);
      list.append(row);
    }
  };

  let timer: number | undefined;
  let asking = false;
  const poll = async (): Promise<void> => {
    if (asking) return;
    window.clearTimeout(timer);
    let wait = POLL_MS;
    const agents = here().filter((a) => !refused.has(a.agentId));
    if (agents.length > 0 && document.visibilityState === 'visible') {
      asking = true;
      try {
        for (let at = 0; at < agents.length; at += MAX_PRESENCE_AGENTS) {
          for (const presence of await ask(relayUrl, agents.slice(at, at + MAX_PRESENCE_AGENTS))) {
            if ('error' in presence && presence.error === 'unauthorized') refused.add(presence.id);
            showPresence(rows.get(presence.id), presence);
          }
        }
        note.hidden = true;
      } catch (error) {
        for (const agent of agents) showPresence(rows.get(agent.agentId), undefined);
        const retryMs = error instanceof RateLimited ? error.retryMs : undefined;
        if (retryMs !== undefined) wait = Math.max(wait, retryMs);
        note.textContent = !navigator.onLine
          ? 'This device is offline.'
          : retryMs !== undefined
            ? 'The relay asks to wait before asking again.'
            : 'The relay cannot be reached right now.';
        note.hidden = false;
      } finally {
        asking = false;
      }
    }
    timer = window.setTimeout(() => void poll(), wait);
  };
  render();
  void poll();
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && void poll());
  window.addEventListener('online', () => void poll());
  return true;
}

class RateLimited extends Error {
  constructor(readonly retryMs: number) {
    super('rate limited');
  }
}

/** What the start page proves for one agent: a paired device's token, or the view token of a link. */
function presenceProof(agent: RememberedAgent): { id: string; token: string; device?: string } {
  const { credential: c, agentId } = agent;
  if (c.kind === 'device') return { id: agentId, token: deviceToken(c.secret, agentId, c.id), device: c.id };
  return { id: agentId, token: accessToken(c.readOnly ? c.secret : viewSecret(c.secret, agentId), agentId) };
}

/** Asks the relay about `agents` (at most MAX_PRESENCE_AGENTS) with the tokens they would connect with. */
async function ask(relayUrl: string, agents: RememberedAgent[]): Promise<Presence[]> {
  const body = JSON.stringify({ agents: agents.map(presenceProof) });
  const response = await fetch(`${relayUrl}/api/presence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, cache: 'no-store' });
  if (response.status === 429) throw new RateLimited((Number(response.headers.get('retry-after')) || 60) * 1000);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return parsePresenceAnswer(await response.json());
}

function agentRow(agent: RememberedAgent, forget: () => void): HTMLElement {
  const row = document.createElement('li');
  row.className = 'agent';
  row.dataset.agent = agent.agentId;
  row.dataset.presence = 'unknown';
  const link = document.createElement('a');
  link.href = `${agent.relayUrl}/a/${agent.agentId}`;
  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const name = document.createElement('span');
  name.className = 'agent-name';
  const state = document.createElement('span');
  state.className = 'agent-state';
  state.textContent = '…';
  link.append(dot, name, state);
  if (agent.credential.readOnly) {
    const badge = document.createElement('span');
    badge.className = 'access';
    badge.textContent = 'View only';
    link.append(badge);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'forget';
  button.textContent = 'Forget';
  button.addEventListener('click', forget);
  row.append(link, button);
  setName(row, agent.name ?? `Agent ${agent.agentId.slice(0, 6)}`);
  return row;
}

function setName(row: HTMLElement, name: string): void {
  row.querySelector('.agent-name')!.textContent = name;
  row.querySelector('.forget')!.setAttribute('aria-label', `Forget ${name}`);
}

function showPresence(row: HTMLElement | undefined, presence: Presence | undefined): void {
  if (!row) return;
  const state = row.querySelector('.agent-state')!;
  if (presence === undefined) {
    row.dataset.presence = 'unknown';
    state.textContent = 'Unknown';
  } else if ('error' in presence) {
    row.dataset.presence = 'refused';
    state.textContent = 'Not paired any more';
  } else {
    row.dataset.presence = presence.online ? 'online' : 'offline';
    state.textContent = presence.online ? 'Online' : 'Offline';
    if (presence.name) setName(row, presence.name);
  }
}
