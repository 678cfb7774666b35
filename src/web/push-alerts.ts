// Alerts that reach this device while the page is closed: a Web Push subscription with the relay's VAPID
// key, handed to the agent sealed in this device's channel. The agent encrypts each alert for this device
// alone; the relay and the push service see only ciphertext. Only a paired device subscribes (the agent
// keeps the subscription with it); where push cannot work (no service worker, no PushManager, a page that is
// not a secure context) it says why instead.

import type { ClientSession } from '../client/session.js';

export class PushAlerts {
  private state: 'off' | 'subscribing' | 'on' = 'off';

  constructor(
    private readonly relayUrl: string,
    private readonly session: () => ClientSession | undefined,
    /** Whether this page connects as a paired device (only those subscribe). */
    private readonly paired: () => boolean,
  ) {}

  /** Why push cannot work here, if it cannot. */
  unavailable(): string | undefined {
    if (!window.isSecureContext) {
      return `This page is plain HTTP (${location.host}): browsers send alerts only to https pages. Open it through an https relay to get alerts while it is closed; while it is open, it still marks its title and plays a tone.`;
    }
    const ios = /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
    const standalone = window.matchMedia('(display-mode: standalone)').matches || (navigator as Navigator & { standalone?: boolean }).standalone === true;
    if (ios && !standalone) return 'On an iPhone or iPad, alerts while the page is closed need the app on the home screen: Share, then Add to Home Screen, and open it from there.';
    if (!('serviceWorker' in navigator) || !('PushManager' in window)) return 'This browser cannot receive alerts while the page is closed; while it is open, it still marks its title and plays a tone.';
    if (!this.paired()) return 'Alerts while the page is closed come once this device is paired.';
    return undefined;
  }

  get subscribed(): boolean {
    return this.state === 'on';
  }

  /** The agent said whether this device gets push alerts. */
  agentSays(subscribed: boolean): void {
    this.state = subscribed ? 'on' : 'off';
  }

  /** Subscribes this device (the notification permission must be granted) and tells the agent. */
  async subscribe(): Promise<void> {
    const problem = this.unavailable();
    if (problem) throw new Error(problem);
    this.state = 'subscribing';
    try {
      const { public_key: key } = (await (await fetch(`${this.relayUrl}/api/push/key`)).json()) as { public_key: string };
      const registration = await navigator.serviceWorker.ready;
      const subscription =
        (await registration.pushManager.getSubscription()) ??
        (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlBytes(key) }));
      const json = subscription.toJSON() as { endpoint?: string; keys?: { p256dh?: string; auth?: string } };
      if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) throw new Error('the browser gave a subscription without keys');
      this.session()?.subscribePush({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
    } catch (error) {
      this.state = 'off';
      throw error;
    }
  }
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
