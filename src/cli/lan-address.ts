// The addresses other devices on the local network can reach this computer at, and the ones a server
// bound to an address listens on.

import { networkInterfaces } from 'node:os';

/** One address of one network interface. */
export interface InterfaceAddress {
  interface: string;
  address: string;
  family: 'IPv4' | 'IPv6';
  /** Loopback: reachable from this computer only. */
  internal: boolean;
}

/** Interfaces that are most likely not the local network people's devices are on. */
const VIRTUAL = /^(docker|br-|veth|virbr|vmnet|vboxnet|tun|tap|utun|zt|tailscale)/;

/** The first non-internal IPv4 address, preferring wired and Wi-Fi interfaces over virtual ones. */
export function lanAddress(): string | undefined {
  const candidates = interfaceAddresses().filter((a) => a.family === 'IPv4' && !a.internal);
  candidates.sort((a, b) => Number(VIRTUAL.test(a.interface)) - Number(VIRTUAL.test(b.interface)));
  return candidates[0]?.address;
}

/**
 * The addresses a server bound to `bound` accepts connections on: every address of every interface for
 * `::` (IPv6 and, on a dual-stack system, IPv4 too), every IPv4 address for `0.0.0.0`, else `bound` itself.
 */
export function listeningAddresses(bound: string): InterfaceAddress[] {
  const all = interfaceAddresses();
  if (bound === '::') return all;
  if (bound === '0.0.0.0') return all.filter((a) => a.family === 'IPv4');
  const own = all.find((a) => a.address === bound);
  return [own ?? { interface: 'unknown', address: bound, family: bound.includes(':') ? 'IPv6' : 'IPv4', internal: false }];
}

/** A line for people saying where a server bound to `bound` listens. */
export function describeListening(bound: string): string {
  const addresses = listeningAddresses(bound).map((a) => `${a.address} (${a.interface})`).join(', ');
  if (bound === '::') return `listening on every interface, IPv4 and IPv6: ${addresses}; --host chooses one`;
  if (bound === '0.0.0.0') return `listening on every IPv4 interface: ${addresses}; --host chooses one`;
  return `listening on ${addresses} only`;
}

function interfaceAddresses(): InterfaceAddress[] {
  return Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
    (addresses ?? []).map((info) => ({ interface: name, address: info.address, family: info.family === 'IPv6' ? ('IPv6' as const) : ('IPv4' as const), internal: info.internal })),
  );
}
