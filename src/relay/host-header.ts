// The Host header, which the client chooses: it is checked before the relay uses it for anything (the
// origin a page must have, the URL it answers with), so that it can only ever be a host name or address
// and a port.

import { isIPv6 } from 'node:net';

/** A DNS name (labels of letters, digits and hyphens) or an IPv4 address, then an optional port. */
const NAME = /^(?=.{1,253}(?::|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?(?::(\d{1,5}))?$/;
/** A bracketed IPv6 address, then an optional port. */
const BRACKETED = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/;

/** The request's Host header in lower case if it is a valid host and port, else undefined (missing included). */
export function validHost(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const text = host.toLowerCase();
  const name = NAME.exec(text);
  const bracketed = name ? undefined : BRACKETED.exec(text);
  if (!name && !(bracketed && isIPv6(bracketed[1]!))) return undefined;
  const port = (name ?? bracketed)![name ? 1 : 2];
  if (port !== undefined && Number(port) > 65535) return undefined;
  return text;
}
