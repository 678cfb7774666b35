// Which relay of a group the client connects to. It starts at the link's relay. A relay that sends it to
// the relay serving its agent (close code Direct, with that relay's URL) is followed at once; when that
// relay cannot be reached (the first connection there ends before it was admitted), the client goes back
// to the link's relay asking to be forwarded (`?forward`), which always works. Any other close starts over
// at the link's relay, which knows best where the agent is now.

import { CloseCode, directUrlOfReason, socketUrl } from '../protocol/index.js';

/** Where the next connection goes. */
type Route =
  | { kind: 'link' }
  | { kind: 'direct'; url: string; admitted: boolean }
  | { kind: 'forward' };

/** Direct closes followed in a row without being admitted anywhere, after which the client asks to be forwarded. */
const MAX_SENT_ON = 3;

export class RelayRoute {
  private route: Route = { kind: 'link' };
  private sentOn = 0;

  constructor(private readonly linkUrl: string) {}

  /** The socket URL of the next connection for `agentId`. */
  socketUrl(agentId: string): string {
    const route = this.route;
    const path = `/ws/client/${agentId}`;
    if (route.kind === 'direct') return socketUrl(route.url, path);
    return socketUrl(this.linkUrl, route.kind === 'forward' ? `${path}?forward` : path);
  }

  /** The current connection was admitted. */
  admitted(): void {
    this.sentOn = 0;
    if (this.route.kind === 'direct') this.route.admitted = true;
  }

  /**
   * The current connection closed with `code` and `reason` (said by the relay, or made up for a socket that
   * failed). True when the next attempt goes to another relay, at once: one the client was sent to, or
   * the link's relay to be forwarded after one it was sent to did not admit it. Nothing a relay the client
   * was sent to says before admitting it is final (it may refuse the page's origin, or not serve the agent
   * any more). A relay that keeps sending the client on is not followed further: the client asks the
   * link's relay to forward it, after the usual wait.
   */
  closed(code: number, reason: string): boolean {
    const route = this.route;
    if (code === CloseCode.Direct) {
      const url = directUrlOfReason(reason);
      this.sentOn++;
      const follow = url !== undefined && this.sentOn <= MAX_SENT_ON;
      this.route = follow ? { kind: 'direct', url, admitted: false } : { kind: 'forward' };
      return follow;
    }
    const refused = route.kind === 'direct' && !route.admitted;
    this.route = refused ? { kind: 'forward' } : { kind: 'link' };
    return refused;
  }
}
