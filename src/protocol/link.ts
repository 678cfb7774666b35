// Access links: `<relay base>/a/<agent id>#<secret>` (type and watch) and
// `<relay base>/a/<agent id>#view.<view secret>` (watch only); `pin.` before the secret says the link
// needs a PIN too (pin.ts). The secret sits in the fragment, which browsers never send to a server, so it
// appears in no request line and no relay log.

import { isSecret } from './access.js';
import { isId } from './encoding.js';

/** The parts of an access link. */
export interface AccessLink {
  /** The relay's base URL (scheme, host, port and any path prefix), without a trailing slash. */
  relayUrl: string;
  agentId: string;
  /** The full secret, or the view secret of a read-only link. */
  secret: string;
  /** A read-only link: `secret` is a view secret. */
  readOnly?: boolean;
  /** The link works only together with the agent's PIN. */
  pin?: boolean;
}

const VIEW_PREFIX = 'view.';
const PIN_PREFIX = 'pin.';

/** Builds the link a person opens to reach an agent. */
export function formatAccessLink(link: AccessLink): string {
  return `${trimSlash(link.relayUrl)}/a/${link.agentId}#${link.readOnly ? VIEW_PREFIX : ''}${link.pin ? PIN_PREFIX : ''}${link.secret}`;
}

/** Parses an access link; throws an Error saying what is wrong with it. */
export function parseAccessLink(text: string): AccessLink {
  if (/\/a\/[^/?#]+\/?(\?[^#]*)?$/.test(text.trim()) || text.trim().endsWith('#')) {
    throw new Error('the link is missing its secret (the part after "#")');
  }
  const match = /^(https?:\/\/[^/?#]+(?:\/[^?#]*?)?)\/a\/([^/?#]+)\/?(?:\?[^#]*)?#(.*)$/.exec(text.trim());
  if (!match) throw new Error('not an access link: expected http(s)://HOST/a/AGENT_ID#SECRET');
  const [, relayUrl, agentId, fragment] = match as unknown as [string, string, string, string];
  if (!isId(agentId)) throw new Error('the agent id in the link is malformed');
  let rest = fragment;
  const readOnly = rest.startsWith(VIEW_PREFIX);
  if (readOnly) rest = rest.slice(VIEW_PREFIX.length);
  const pin = rest.startsWith(PIN_PREFIX);
  if (pin) rest = rest.slice(PIN_PREFIX.length);
  if (!isSecret(rest)) throw new Error('the secret after "#" in the link is missing or malformed');
  const link: AccessLink = { relayUrl: trimSlash(relayUrl), agentId, secret: rest };
  if (readOnly) link.readOnly = true;
  if (pin) link.pin = true;
  return link;
}

/** The agent id in a terminal page's path (`…/a/<agent id>`), or undefined for any other path. */
export function agentIdOfPath(pathname: string): string | undefined {
  const id = /\/a\/([^/]+)\/?$/.exec(pathname)?.[1];
  return id !== undefined && isId(id) ? id : undefined;
}

/** The WebSocket URL for a path on the relay (`http` becomes `ws`, `https` becomes `wss`). */
export function socketUrl(relayUrl: string, path: string): string {
  return trimSlash(relayUrl).replace(/^http/, 'ws') + path;
}

/** The longest direct URL of a relay (`--direct-url`): it travels as a close reason (CloseCode.Direct), 123 bytes at most. */
export const DIRECT_URL_MAX = 123;

/** The relay URL a close reason of CloseCode.Direct names, if it names one (a reason is the relay's word: checked). */
export function directUrlOfReason(reason: string): string | undefined {
  return reason.length <= DIRECT_URL_MAX && /^https?:\/\/[^/\s]+$/.test(reason) ? reason : undefined;
}

/** Whether `url` can be a relay's base URL: http or https, and a host. */
export function isRelayUrl(url: string): boolean {
  return /^https?:\/\/[^/]+/.test(url);
}

/** `url` without trailing slashes. */
export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
