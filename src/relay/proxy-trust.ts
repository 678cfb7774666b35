// Which reverse proxies the relay believes (`--trust-proxy`): a request whose peer is one of them may
// say, in X-Forwarded-For and X-Forwarded-Proto, which address the client has and whether it came over
// TLS; anyone else's such headers are ignored, so a client cannot pick the address its limits count
// against, or make a plain-HTTP request pass for HTTPS.

import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { normaliseAddress } from './address.js';

/** What a request tells of its client, as far as the relay can believe it. */
export interface RequestClient {
  /** The client's address: the socket's peer, or what a trusted proxy reports. */
  address: string;
  /** A trusted proxy reports that the client came over HTTPS. */
  forwardedSecure: boolean;
}

/** The proxies to trust: addresses and prefixes (`10.0.0.0/8`, `2001:db8::/32`). */
export class ProxyTrust {
  private readonly list = new BlockList();
  private readonly none: boolean;

  /** Throws an Error naming the entry if one is neither an IP address nor a prefix. */
  constructor(proxies: readonly string[]) {
    this.none = proxies.length === 0;
    for (const entry of proxies) {
      const [text, bits, extra] = entry.trim().split('/');
      const address = normaliseAddress(text ?? '');
      const family = isIP(address);
      const max = family === 4 ? 32 : 128;
      if (family === 0 || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
        throw new Error(`not an IP address or prefix: ${entry}`);
      }
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
  }

  /** Whether `address` is a trusted proxy. */
  trusts(address: string): boolean {
    if (this.none) return false;
    const plain = normaliseAddress(address);
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client of `req`. Behind trusted proxies, that is the last address in X-Forwarded-For that is not
   * itself a trusted proxy (each proxy appends the peer it saw; what is further left came from the client
   * and proves nothing), and the scheme the nearest proxy reports in X-Forwarded-Proto.
   */
  client(req: IncomingMessage): RequestClient {
    const peer = normaliseAddress(req.socket.remoteAddress ?? 'unknown');
    if (!this.trusts(peer)) return { address: peer, forwardedSecure: false };
    const hops = headerList(req.headers['x-forwarded-for']).map(withoutPort);
    let address = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normaliseAddress(hops[i]!);
      if (isIP(hop) === 0) break; // not an address: the proxy did not append one here
      address = hop;
      if (!this.trusts(hop)) break;
    }
    return { address, forwardedSecure: headerList(req.headers['x-forwarded-proto']).at(-1)?.toLowerCase() === 'https' };
  }
}

/** The comma-separated values of a header that may appear several times. */
function headerList(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value.join(',') : (value ?? '')).split(',').map((part) => part.trim()).filter(Boolean);
}

/** An address as some proxies write it, with a port (`192.0.2.1:443`, `[2001:db8::1]:443`), without it. */
function withoutPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  return v4 ? v4[1]! : hop;
}
