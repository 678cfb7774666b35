// Forgetting a terminal on this device forgets its alerts too: before the credential goes, the device
// connects to the agent once more and takes back its push subscription (`push_unsubscribe`), so that the
// agent stops encrypting alerts for a device that no longer knows it. A link (not a paired device) never
// subscribed; an agent that cannot be reached in time keeps the subscription, and the start page says so.

import { ClientSession } from '../client/session.js';
import { browserConnect } from './browser-connect.js';
import type { RememberedAgent } from './storage.js';
import { pageKeyAgreement } from './webcrypto-x25519.js';

/** How long the agent has to take the subscription back, in ms. */
const STOP_ALERTS_MS = 8000;

/** Resolves true once the agent no longer sends this device alerts (or it never did), false if it could not be told. */
export function stopAlerts(agent: RememberedAgent): Promise<boolean> {
  if (agent.credential.kind !== 'device') return Promise.resolve(true);
  const keys = pageKeyAgreement();
  return new Promise<boolean>((resolve) => {
    let asked = false;
    const done = (stopped: boolean): void => {
      clearTimeout(timer);
      keys.dispose();
      session.close();
      resolve(stopped);
    };
    const timer = setTimeout(() => done(false), STOP_ALERTS_MS);
    const session: ClientSession = new ClientSession({
      relayUrl: agent.relayUrl,
      agentId: agent.agentId,
      credential: agent.credential,
      keyAgreement: keys.agreement,
      connect: browserConnect,
      watch: 'none',
      events: {
        state: (state) => {
          if (state.kind === 'failed') done(false);
        },
        pushState: (subscribed) => {
          // The state sent when the channel opens tells whether there is anything to take back.
          if (!subscribed) return done(true);
          if (asked) return;
          asked = true;
          session.unsubscribePush();
        },
      },
    });
    session.start();
  });
}
