// Which pages may open browser sockets. A browser always sends an Origin header; a page may connect if
// its origin is on the allow-list (exact string match, no patterns), is the relay's own origin as the
// browser addressed it (scheme, host and port of the request itself), or is the direct address of a relay
// of its group (a page that relay served, whose browser it sent here).

/** Decides whether a WebSocket upgrade's Origin is acceptable. */
export class OriginPolicy {
  private readonly allowed: Set<string>;

  /** `allowed`: origins such as `https://relay.example.com`; normalised to scheme://host[:port]. */
  constructor(allowed: readonly string[]) {
    this.allowed = new Set(allowed.map(normaliseOrigin));
  }

  /**
   * `origin`: the request's Origin header; `host`: its Host header; `secure`: whether the request
   * arrived over TLS (directly, or as a trusted proxy reported); `group`: the origins of the relays of its
   * group that browsers reach directly.
   */
  check(origin: string | undefined, host: string | undefined, secure: boolean, group?: ReadonlySet<string>): { ok: true } | { ok: false; reason: string } {
    if (origin === undefined || origin === '') return { ok: false, reason: 'Origin header required' };
    if (origin === 'null') return { ok: false, reason: 'opaque origin refused' };
    if (this.allowed.has(origin) || group?.has(origin)) return { ok: true };
    if (host !== undefined && origin === `${secure ? 'https' : 'http'}://${host.toLowerCase()}`) return { ok: true };
    return { ok: false, reason: 'origin not allowed' };
  }
}

/** scheme://host[:port] of a URL or origin string, lower-case, default ports dropped. */
export function normaliseOrigin(value: string): string {
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) origin: ${value}`);
  return url.origin;
}
