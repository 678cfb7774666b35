// What the CLI prints: one JSON object per line on stdout with --json, readable text otherwise. Notices
// in text mode go to stderr so that stdout holds only what a person or a script asked for. Notices and
// errors carry words from elsewhere (a relay's reasons and messages, addresses from its log): they are
// printed as data, without escape sequences or control characters, line by line.

import QRCode from 'qrcode';
import type { AgentEvent } from '../agent/agent.js';
import type { RelayLogEvent } from '../relay/relay.js';
import { parseAccessLink, printable, sizeText } from '../protocol/index.js';

/** Writes the CLI's output. */
export class Printer {
  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A machine-readable event (JSON mode only). */
  event(event: Record<string, unknown>): void {
    if (this.json) this.out.write(`${jsonLine(event)}\n`);
  }

  /** A line for people (text mode only), on stdout. */
  line(text: string): void {
    if (!this.json) this.out.write(`${text}\n`);
  }

  /** A notice for people (text mode only), on stderr. */
  notice(text: string): void {
    if (!this.json) this.err.write(`${timestamp()} ${printableLines(text)}\n`);
  }

  /** A line that continues the notice before it (text mode only), on stderr. */
  note(text: string): void {
    if (!this.json) this.err.write(`${' '.repeat(timestamp().length + 1)}${printableLines(text)}\n`);
  }

  /** An error: JSON event or a line on stderr. */
  error(message: string): void {
    if (this.json) this.event({ event: 'error', message });
    else this.err.write(`ccremote: ${printableLines(message)}\n`);
  }

  /** The relay's log: every event as JSON, or the notable ones as text. */
  relayLog(entry: RelayLogEvent): void {
    // The command prints its own `listening` event, with the public URL.
    if (entry.event === 'listening') return;
    if (this.json) return this.event(entry);
    const { event, ...fields } = entry;
    const detail = Object.entries(fields)
      .filter(([key]) => key !== 'stack')
      .map(([key, value]) => `${key}=${printable(String(value))}`)
      .join(' ');
    this.notice(`relay: ${event.replace(/_/g, ' ')}${detail ? ` (${detail})` : ''}`);
  }

  /** The access links and the QR code of the full one. */
  private async links(url: string, viewUrl: string, qr: boolean): Promise<void> {
    this.line('');
    if (qr) this.line(await QRCode.toString(url, { type: 'terminal', small: true }));
    this.line(`  Open this link on your phone or in a browser:\n\n  ${url}\n`);
    this.line('  The first device to open it pairs with this agent and keeps a key of its own; share it only with yourself.');
    this.line(`  To let someone watch without typing, give them the read-only link:\n\n  ${viewUrl}\n`);
    if (parseAccessLink(url).pin) this.line('  Pairing with either link also needs the PIN, which is in neither link nor QR code.');
    this.line('  Traffic is end-to-end encrypted: the relay cannot read or alter it. --rotate replaces both links.\n');
  }

  /** An agent event: JSON as is, or text (the link and QR code when ready). */
  async agentEvent(event: AgentEvent, qr: boolean): Promise<void> {
    if (this.json) return this.event(event);
    switch (event.event) {
      case 'ready':
        return this.links(event.url, event.viewUrl, qr);
      case 'link_replaced':
        this.notice('the links were replaced; the old ones no longer work (paired devices keep working):');
        return this.links(event.url, event.viewUrl, qr);
      case 'connected': {
        const who = event.device ? `device "${event.device.name}"` : 'a browser with the link';
        return this.notice(`${who} connected (${event.access === 'full' ? 'can type' : 'view only'})${from(event.address)}`);
      }
      case 'paired':
        return this.notice(`paired a new device, "${event.name}" (${event.access === 'full' ? 'can type' : 'view only'})${from(event.address)}; it no longer needs the link`);
      case 'revoked':
        return this.notice(`revoked device "${event.name}"`);
      case 'refused':
        return this.notice(`refused a browser${from(event.address)}: ${event.message}`);
      case 'registered':
        return this.notice('registered with the relay');
      case 'relay_connected':
        return this.notice('connected to the relay');
      case 'relay_disconnected':
        return this.notice(
          `relay connection lost: ${printable(event.reason)}${event.retryInMs !== undefined ? `; retrying in ${(event.retryInMs / 1000).toFixed(1)} s` : ''}`,
        );
      case 'input_rejected':
        return this.notice(`refused input from browser ${event.client}: ${printable(event.reason)}`);
      case 'clients':
        return this.notice(`${event.count} browser${event.count === 1 ? '' : 's'} attached`);
      case 'session_started':
        return this.notice(`session ${event.terminal} started${event.address ? ` from ${printable(event.address)}` : ''}: ${printable(event.command)} in ${printable(event.cwd)}`);
      case 'exit': {
        const how = event.signal ? `was killed by signal ${event.signal}` : `exited with code ${event.exitCode}`;
        const when = event.lastLines ? ` after ${(event.ranMs / 1000).toFixed(1)} s` : '';
        this.notice(`session ${event.terminal} (${printable(event.name)}): command ${how}${when}${event.restarting ? '; restarting' : ''}`);
        if (!event.lastLines) return;
        if (event.lastLines.length === 0) return this.note('It printed nothing.');
        this.note('Its last lines of output:');
        for (const line of event.lastLines) this.note(`  │ ${line}`);
        return;
      }
      case 'permission': {
        const what = `session ${event.terminal}: Claude Code asks to use ${printable(event.tool)} (${printable(event.detail)})`;
        if (event.state === 'waiting') return this.notice(`${what}; it can be answered from a phone`);
        if (event.state === 'reminded') return this.notice(`${what}, still unanswered: reminded the phones`);
        return this.notice(`session ${event.terminal}: ${printable(event.tool)} request ${event.state === 'gone' ? 'settled' : event.state}: ${printable(event.message ?? '')}`);
      }
      case 'file_received':
        return this.notice(`session ${event.terminal}: received ${event.path} (${sizeText(event.size)})`);
      case 'file_sent':
        return this.notice(`session ${event.terminal}: a client took ${event.path} (${sizeText(event.size)})`);
      case 'warning':
        return this.notice(`warning: ${printable(event.message)}`);
      case 'error':
        return this.error(printable(event.message));
    }
  }
}

function from(address: string | undefined): string {
  return address ? ` from ${address}` : '';
}

/** Each line of `text` made printable (printable), the line breaks kept. */
function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * `value` as one line of JSON. JSON escapes C0 controls but not DEL, C1 controls or the Unicode controls
 * that reorder text; those are escaped too, so a JSON line is safe to show on a terminal and means the same.
 */
function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function timestamp(): string {
  return new Date().toTimeString().slice(0, 8);
}
