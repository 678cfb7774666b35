// The paired devices, from a full device's menu (⋯ → Devices): each with its name, whether it may type,
// when it was last seen and from where, and a Revoke button (asked first). Revoking a device cuts it off
// and replaces the link (the agent prints the new one); every other paired device keeps working.

import type { ClientSession } from '../client/session.js';
import type { DeviceInfo, WelcomePayload } from '../protocol/index.js';
import { listNote } from './dom.js';

export class DevicesPanel {
  private readonly panel = document.getElementById('devices')!;
  private readonly list = document.getElementById('device-list')!;
  private readonly toggle = document.getElementById('devices-toggle') as HTMLButtonElement;

  constructor(private readonly session: () => ClientSession | undefined) {
    this.toggle.addEventListener('click', () => {
      this.panel.hidden = false;
      this.list.replaceChildren(listNote('Asking the agent…', 'device-note'));
      this.session()?.listDevices();
    });
    document.getElementById('devices-close')!.addEventListener('click', () => (this.panel.hidden = true));
  }

  /** A channel opened: only a device that may type may see and revoke devices; an open list is asked for again. */
  opened(welcome: WelcomePayload): void {
    this.toggle.hidden = welcome.access !== 'full';
    if (!this.panel.hidden && welcome.access === 'full') this.session()?.listDevices();
  }

  /** The agent's answer: the devices paired with it. */
  show(devices: DeviceInfo[]): void {
    if (devices.length === 0) {
      this.list.replaceChildren(listNote('No device is paired yet.', 'device-note'));
      return;
    }
    this.list.replaceChildren(...devices.map((device) => this.row(device)));
  }

  private row(device: DeviceInfo): HTMLElement {
    const row = document.createElement('li');
    row.className = 'device';
    row.dataset.device = device.id;
    const name = document.createElement('span');
    name.className = 'device-name';
    name.textContent = device.current ? `${device.name} (this device)` : device.name;
    const detail = document.createElement('span');
    detail.className = 'device-detail';
    const seen = device.last_seen === null ? 'never connected' : `last seen ${new Date(device.last_seen).toLocaleString()}`;
    detail.textContent = `${device.access === 'full' ? 'Can type' : 'View only'}${device.alerts ? ' · gets alerts' : ''} · ${seen}${device.last_address ? ` from ${device.last_address}` : ''}`;
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.textContent = 'Revoke';
    revoke.setAttribute('aria-label', `Revoke ${device.name}`);
    revoke.addEventListener('click', () => {
      const warning = device.current
        ? 'Revoke this device? It will lose access to this terminal at once.'
        : `Revoke "${device.name}"? It loses access at once, and the agent's link is replaced (other paired devices keep working).`;
      if (!window.confirm(warning)) return;
      revoke.disabled = true;
      this.session()?.revokeDevice(device.id);
    });
    row.append(name, detail, revoke);
    return row;
  }
}
