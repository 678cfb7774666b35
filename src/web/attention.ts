// Telling the person that the program waits for them: Claude Code's hooks (a permission prompt, the
// end of a reply) reach the page as attention events; the terminal bell stands in for other programs.
// The page marks its title and the app badge, plays a short tone, and, when it is hidden, shows a
// system notification through the service worker (if the person allowed notifications). All of it
// clears once the person looks at the page again.

import type { Disposables } from './disposables.js';
import type { PushAlerts } from './push-alerts.js';

/** One reason to look: from a session (named), or the terminal's bell. */
export interface AttentionEvent {
  kind: 'notification' | 'stop' | 'permission' | 'bell';
  message?: string;
  /** The session it is about, and its name. */
  terminal?: number;
  session?: string;
  /** It is the session shown now. */
  here?: boolean;
}

const TITLE_MARK = '● ';
/** Bells closer together than this are one. */
const BELL_QUIET_MS = 3000;

export class Attention {
  private pending = false;
  private lastBell = 0;
  private audio: AudioContext | undefined;
  private readonly button = document.getElementById('alerts-toggle') as HTMLButtonElement | null;
  /** Why alerts cannot reach this device while the page is closed, under the button. */
  private readonly why = document.getElementById('alerts-why');

  /** The session of the notice shown now, if it is another than the one on screen (a tap on the notice shows it). */
  private noticeFor: number | undefined;

  constructor(
    private readonly agentName: () => string,
    /** The person wants to see a session (they tapped its notice). */
    private readonly show: (terminal: number) => void,
    /** Where its listeners (and its sound) are registered, to go with the terminal. */
    parts: Disposables,
    /** Alerts while the page is closed (Web Push), turned on with the same button. */
    private readonly push?: PushAlerts,
  ) {
    const notice = document.getElementById('attention');
    if (notice) {
      parts.listen(notice, 'click', () => {
        const terminal = this.noticeFor;
        this.noticeFor = undefined;
        this.clear();
        if (terminal !== undefined) this.show(terminal);
      });
    }
    // The person is back: they look at the page, or touch or type on it.
    parts.listen(document, 'visibilitychange', () => document.visibilityState === 'visible' && this.clear());
    parts.listen(window, 'focus', () => this.clear());
    parts.listen(window, 'keydown', () => this.acted(null), { capture: true });
    parts.listen(window, 'pointerdown', (event) => this.acted(event.target), { capture: true });
    // Browsers allow sound only after a gesture: the first tap anywhere prepares it.
    parts.listen(window, 'pointerdown', () => this.prepareSound(), { once: true, capture: true });
    if (this.button) parts.listen(this.button, 'click', () => void this.askPermission());
    parts.add(() => void this.audio?.close().catch(() => undefined));
    this.showPermission();
  }

  /** Something wants the person. */
  raise(event: AttentionEvent): void {
    if (event.kind === 'bell') {
      const now = Date.now();
      if (now - this.lastBell < BELL_QUIET_MS) return;
      this.lastBell = now;
    }
    const text = describe(event);
    document.body.dataset.attention = event.kind;
    // A permission request has a prompt of its own (permission-prompt.ts); anything else gets the notice.
    if (event.kind !== 'permission') {
      const notice = document.getElementById('attention')!;
      // Another session than the one on screen: the notice names it, and a tap shows it.
      this.noticeFor = event.terminal !== undefined && !event.here ? event.terminal : undefined;
      notice.textContent = this.noticeFor !== undefined ? `${event.session}: ${text} (tap to show it)` : text;
      notice.hidden = false;
    }
    this.tone();
    const hidden = document.visibilityState !== 'visible';
    if (hidden || !document.hasFocus()) {
      this.pending = true;
      if (!document.title.startsWith(TITLE_MARK)) document.title = TITLE_MARK + document.title;
      void (navigator as Navigator & { setAppBadge?: (n?: number) => Promise<void> }).setAppBadge?.(1).catch(() => undefined);
    }
    // A device that gets push alerts has the service worker's notification for this (with its actions).
    if (hidden && !this.push?.subscribed) void this.notify(event.session ? `${event.session}: ${text}` : text, event.terminal);
  }

  /** The person is looking: take the marks away. */
  clear(): void {
    const notice = document.getElementById('attention');
    // A notice about another session stays while the person only looks back at the page (they have not
    // seen what it is about), until they act, tap it, or that session is shown.
    if (notice && this.noticeFor === undefined) {
      notice.hidden = true;
      delete document.body.dataset.attention;
    }
    if (!this.pending) return;
    this.pending = false;
    if (document.title.startsWith(TITLE_MARK)) document.title = document.title.slice(TITLE_MARK.length);
    void (navigator as Navigator & { clearAppBadge?: () => Promise<void> }).clearAppBadge?.().catch(() => undefined);
  }

  /** The person touched or typed: they are here and have read the notice, which goes, whatever session
   *  it is about (the session button still counts those waiting), so it covers the screen no longer. A
   *  touch on the notice itself is a tap on it. */
  private acted(target: EventTarget | null): void {
    const notice = document.getElementById('attention');
    if (notice && target instanceof Node && notice.contains(target)) return;
    this.noticeFor = undefined;
    this.clear();
  }

  /** A session is on screen now: a notice about it has done its job. */
  watched(terminal: number | null): void {
    if (this.noticeFor === undefined || this.noticeFor !== terminal) return;
    this.noticeFor = undefined;
    this.clear();
  }

  /** A system notification, one per session (a newer one replaces it); a tap opens that session. */
  private async notify(body: string, terminal: number | undefined): Promise<void> {
    if (!('Notification' in window) || Notification.permission !== 'granted' || !('serviceWorker' in navigator)) return;
    const registration = await navigator.serviceWorker.getRegistration();
    if (!registration) return console.error('ccremote: no service worker to show the notification with');
    const agent = location.pathname;
    await registration
      .showNotification(this.agentName(), {
        body,
        // The same tag as the service worker's push notifications: one per session, whichever shows it.
        tag: `ccremote-attention ${agent.split('/').pop() ?? ''} ${terminal ?? 'bell'}`,
        icon: 'icon-192.png',
        badge: 'icon-192.png',
        data: { url: terminal !== undefined ? `${agent}?session=${terminal}` : agent, terminal },
      })
      .catch((error: unknown) => console.error(`ccremote: the notification could not be shown: ${(error as Error).message}`));
  }

  private async askPermission(): Promise<void> {
    if (!('Notification' in window)) return;
    if (Notification.permission === 'default') await Notification.requestPermission();
    if (Notification.permission === 'granted' && this.push && !this.push.subscribed && this.push.unavailable() === undefined) {
      try {
        await this.push.subscribe();
      } catch (error) {
        const problem = `Alerts while the page is closed could not be turned on: ${(error as Error).message}`;
        this.explain(problem);
        return this.showPermission(problem);
      }
    }
    this.showPermission();
  }

  /** The agent said whether this device gets push alerts, and why the last one did not reach it, if it did not. */
  pushState(subscribed: boolean, problem?: string): void {
    this.push?.agentSays(subscribed);
    this.showPermission(problem);
  }

  /**
   * Re-checks what the button can offer (after pairing, say). Where alerts cannot reach this device while the
   * page is closed, the note under it says why; where the browser cannot show notifications at all, the
   * button says so rather than offering a switch that does nothing (the page's own notice and tone still work).
   */
  showPermission(problem?: string): void {
    if (!this.button) return;
    this.button.hidden = false;
    const why = problem ?? this.push?.unavailable();
    if (this.why) {
      this.why.textContent = why ?? '';
      this.why.hidden = why === undefined;
    }
    const supported = 'Notification' in window && 'serviceWorker' in navigator && window.isSecureContext;
    if (!supported) {
      this.button.textContent = 'Alerts unavailable';
      this.button.disabled = true;
      return;
    }
    const permission = Notification.permission;
    const pushOff = this.push !== undefined && !this.push.subscribed && this.push.unavailable() === undefined;
    // Once answered, only the browser's site settings can change it: the button then says which way.
    this.button.textContent = permission === 'denied' ? 'Alerts blocked' : permission === 'granted' && !pushOff ? 'Alerts on' : 'Turn on alerts';
    this.button.disabled = permission === 'denied' || (permission === 'granted' && !pushOff);
    if (permission === 'denied' && this.why) {
      this.why.textContent = 'Notifications are blocked for this site: allow them in the browser’s site settings to get alerts.';
      this.why.hidden = false;
    }
  }

  private explain(text: string): void {
    const notice = document.getElementById('notice');
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = false;
  }

  private prepareSound(): void {
    try {
      this.audio ??= new AudioContext();
      void this.audio.resume().catch(() => undefined);
    } catch {
      this.audio = undefined;
    }
  }

  /** A short, soft two-note tone. */
  private tone(): void {
    const audio = this.audio;
    if (!audio || audio.state !== 'running') return;
    const gain = audio.createGain();
    gain.connect(audio.destination);
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.15, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    for (const [frequency, at] of [[880, 0], [1320, 0.12]] as const) {
      const oscillator = audio.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.start(audio.currentTime + at);
      oscillator.stop(audio.currentTime + at + 0.2);
    }
  }
}

function describe(event: AttentionEvent): string {
  if (event.message) return event.message;
  if (event.kind === 'stop') return 'Claude finished and is waiting for you.';
  if (event.kind === 'bell') return 'The terminal rang its bell.';
  if (event.kind === 'permission') return 'Claude Code asks for a permission.';
  return 'Claude is waiting for you.';
}
