// The status bar and the full-screen message: what the session is doing, always visible. Text only
// (textContent), never HTML: names and reasons come from elsewhere.

import type { SessionState } from '../client/session.js';
import { byId } from './dom.js';

/** Updates the bar, the notice line under it, and the message panel from session events. */
export class StatusBar {
  private readonly name = byId('agent-name');
  private readonly text = byId('state-text');
  private readonly notice = byId('notice');
  private readonly latency = byId('latency');
  /** Read out by screen readers: state changes, not the countdown's every tick. */
  private readonly announce = byId('announce');
  private readonly message = byId('message');
  private timer: number | undefined;
  private noticeTimer: number | undefined;
  /** The agent's last status line (such as the command's exit), kept while the agent is offline. */
  private lastStatus: string | undefined;
  /** The relay admitted this page at least once since it loaded. */
  private reached = false;

  state(state: SessionState): void {
    document.body.dataset.state = state.kind;
    this.announce.textContent = spoken(state);
    window.clearInterval(this.timer);
    this.hideMessage();
    switch (state.kind) {
      case 'connecting':
        return this.setText('Connecting…');
      case 'online':
        this.reached = true;
        delete document.body.dataset.network;
        if (state.name) this.setName(state.name);
        this.lastStatus = undefined;
        this.setText('Connected');
        if (!this.noticeTimer) this.setNotice(undefined);
        return;
      case 'agent_offline':
        this.reached = true;
        if (state.name) this.setName(state.name);
        this.setText('Agent offline');
        return this.setNotice(`${this.lastStatus ? `${this.lastStatus}. ` : ''}Waiting for the agent to come back.`);
      case 'waiting': {
        // No network, or a relay that never answered since the page opened (from the app's cache): say so plainly.
        const offline = !navigator.onLine;
        const unreachable = !this.reached && state.code === 1006;
        document.body.dataset.network = offline ? 'offline' : unreachable ? 'unreachable' : 'online';
        const until = Date.now() + state.retryInMs;
        const prefix = offline ? 'Offline · retry' : unreachable ? 'Relay unreachable · retry' : 'Reconnecting';
        const tick = (): void => this.setText(`${prefix} in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s`);
        tick();
        this.timer = window.setInterval(tick, 500);
        this.latency.textContent = '';
        if (offline) return this.setNotice('This device is offline. The terminal reconnects by itself when the network is back.');
        if (unreachable) return this.setNotice('The relay cannot be reached right now. The terminal keeps trying and connects by itself once it answers.');
        return this.setNotice(state.reason);
      }
      case 'failed':
        this.setText('Disconnected');
        this.setNotice(undefined);
        this.latency.textContent = '';
        return this.showMessage('Cannot open this terminal', state.reason);
      case 'closed':
        return this.setText('Closed');
    }
  }

  /** After a reconnection: how the screen caught up, shown for a few seconds. */
  resync(how: 'resumed' | 'restored' | 'gap'): void {
    const text = {
      resumed: 'Reconnected: nothing was missed.',
      restored: 'Reconnected: the screen was restored; older output was not replayed.',
      gap: 'Reconnected: some output was lost.',
    }[how];
    document.body.dataset.resync = how;
    this.setNotice(text, 5000);
  }

  /** A snapshot the agent could not make: the terminal was reset and holds only the output the agent kept. */
  screenUnavailable(): void {
    document.body.dataset.resync = 'unavailable';
    this.setNotice('The screen could not be restored: the agent has no copy of it. Below is only the latest output it kept.', 15_000);
  }

  /** A status line from the agent (the command's exit, for example). */
  status(text: string): void {
    this.lastStatus = text;
    this.setNotice(text);
  }

  /** The link is read-only: says so, and the key bar goes away. */
  readOnly(): void {
    document.body.dataset.access = 'read-only';
    byId('access').hidden = false;
  }

  /** The start page: no connection of its own. */
  landing(): void {
    document.body.dataset.state = 'landing';
    this.setText('');
    this.setNotice(undefined);
  }

  /** Waiting for the PIN: nothing is connected. */
  locked(): void {
    document.body.dataset.state = 'locked';
    window.clearInterval(this.timer);
    this.setNotice(undefined);
    this.latency.textContent = '';
    this.setText('PIN needed');
  }

  /** Something went wrong that the person should know about (refused data, refused input). */
  alert(text: string): void {
    this.setNotice(text, 8000);
  }

  setLatency(ms: number): void {
    this.latency.textContent = `${ms} ms`;
  }

  setName(name: string): void {
    this.name.textContent = name;
    document.title = `${name} · ccremote`;
  }

  showMessage(title: string, text: string): void {
    byId('message-title').textContent = title;
    byId('message-text').textContent = text;
    this.message.hidden = false;
  }

  /** The line under the bar: shown while there is something to say, for `forMs` if given. */
  private setNotice(text: string | undefined, forMs?: number): void {
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = undefined;
    this.notice.textContent = text ?? '';
    this.notice.hidden = text === undefined;
    if (forMs !== undefined) {
      this.noticeTimer = window.setTimeout(() => {
        this.noticeTimer = undefined;
        this.notice.hidden = true;
      }, forMs);
    }
  }

  private hideMessage(): void {
    this.message.hidden = true;
  }

  private setText(text: string): void {
    this.text.textContent = text;
  }
}

/** A state as read out once when it begins. */
function spoken(state: SessionState): string {
  switch (state.kind) {
    case 'connecting':
      return 'Connecting';
    case 'online':
      return 'Connected';
    case 'agent_offline':
      return 'The agent is offline';
    case 'waiting':
      return navigator.onLine ? 'Connection lost, reconnecting' : 'This device is offline';
    case 'failed':
      return `Disconnected: ${state.reason}`;
    case 'closed':
      return 'Closed';
  }
}
