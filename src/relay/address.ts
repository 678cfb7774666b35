// Client addresses as the relay counts them: IPv4-mapped IPv6 addresses are IPv4, and IPv6 addresses
// are grouped by their /64 prefix (one subscriber usually holds a whole /64, so counting single IPv6
// addresses would let one attacker look like billions of people).

import { isIPv4, isIPv6 } from 'node:net';

/** `address` without an IPv6 zone, and an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as IPv4. */
export function normaliseAddress(address: string): string {
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  return mapped ? mapped[1]! : plain;
}

/** The key per-address limits count under: an IPv4 address, `<first four groups>::/64` for IPv6, else the text. */
export function addressKey(address: string): string {
  const plain = normaliseAddress(address);
  if (isIPv4(plain) || !isIPv6(plain)) return plain;
  return `${ipv6Groups(plain).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  let text = address.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4 forms other than the mapped one) becomes two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => parseInt(group, 16).toString(16));
}
