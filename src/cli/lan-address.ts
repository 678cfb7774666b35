// The address other devices on the local network can reach this computer at.

import { networkInterfaces } from 'node:os';

/** The first non-internal IPv4 address, preferring wired and Wi-Fi interfaces over virtual ones. */
export function lanAddress(): string | undefined {
  const candidates: Array<{ name: string; address: string }> = [];
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const info of addresses ?? []) {
      if (info.family === 'IPv4' && !info.internal) candidates.push({ name, address: info.address });
    }
  }
  const virtual = /^(docker|br-|veth|virbr|vmnet|vboxnet|tun|tap|utun|zt|tailscale)/;
  candidates.sort((a, b) => Number(virtual.test(a.name)) - Number(virtual.test(b.name)));
  return candidates[0]?.address;
}
