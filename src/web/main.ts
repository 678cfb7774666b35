// The web terminal: reads the access link from the address bar, opens a client session, and connects
// it to xterm.js. Keystrokes go out raw, exactly as the terminal encodes them (Enter is "\r"); output
// is written as bytes, so UTF-8 split across frames is reassembled by the terminal.

import '@xterm/xterm/css/xterm.css';
import './app.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { ClientSession } from '../client/session.js';
import { CloseCode, parseAccessLink, type AccessLink } from '../protocol/index.js';
import { browserConnect } from './browser-connect.js';
import { mountKeyBar } from './key-bar.js';
import { askPin } from './pin-form.js';
import { StatusBar } from './status-bar.js';

function start(): void {
  const bar = new StatusBar();
  let link: AccessLink;
  if (!/\/a\/[^/]+\/?$/.test(location.pathname)) {
    document.body.dataset.state = 'landing';
    bar.status('');
    bar.showMessage('ccremote relay', 'Open the link that "ccremote agent" printed on your computer (or scan its QR code) to reach your terminal.');
    return;
  }
  try {
    link = parseAccessLink(location.href);
  } catch (error) {
    bar.state({ kind: 'failed', code: 0, reason: `This page's address is not a complete access link: ${(error as Error).message}. Open the full link the agent printed (or scan its QR code).` });
    return;
  }

  const term = new Terminal({
    allowProposedApi: false,
    cursorBlink: true,
    fontFamily: "ui-monospace, 'SF Mono', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
    fontSize: window.matchMedia('(max-width: 600px)').matches ? 13 : 15,
    scrollback: 5000,
    theme: { background: '#16181d', foreground: '#e6e6e6' },
    // Terminal output is hostile. Hyperlinks (OSC 8): http(s) only, each confirmed by the person, opened
    // without a handle on this page. Clipboard writes (OSC 52) are not supported: no addon handles them.
    linkHandler: {
      allowNonHttpProtocols: false,
      activate: (_event, uri) => {
        if (!/^https?:\/\//i.test(uri)) return;
        if (window.confirm(`Open this link from the terminal?\n\n${uri}`)) window.open(uri, '_blank', 'noopener,noreferrer');
      },
    },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById('terminal')!);

  const open = (pin: Uint8Array | undefined): ClientSession => {
    const opened: ClientSession = new ClientSession({
      relayUrl: link.relayUrl,
      agentId: link.agentId,
      secret: link.secret,
      readOnly: link.readOnly,
      pin,
      connect: browserConnect,
      // Flow control as xterm.js recommends: output counts as processed once the terminal has parsed it.
      manualAck: true,
      events: {
        output: (data, end) => term.write(data, () => opened.acknowledge(end)),
        snapshot: (data, offset) => {
          term.reset();
          term.write(data, () => opened.acknowledge(offset));
        },
        state: (state) => {
          if (state.kind === 'failed' && state.code === CloseCode.Unauthorized && link.pin) {
            // The token was refused: most likely a mistyped PIN. Ask again.
            opened.close();
            bar.locked();
            void askPin(link.agentId, state.reason).then(begin);
            return;
          }
          bar.state(state);
        },
        resync: (how) => bar.resync(how),
        status: (status) => bar.status(status.message),
        latency: (ms) => bar.setLatency(ms),
        error: (code, message) => {
          if (code === 'agent_offline') return;
          console.warn(`ccremote: ${code}: ${message}`);
          if (code !== 'bad_message') bar.alert(message);
        },
      },
    });
    return opened;
  };

  let session: ClientSession | undefined;
  const begin = (pin: Uint8Array | undefined): void => {
    session = open(pin);
    refit();
    session.start();
    term.focus();
    Object.assign(window, { ccremote: { session, term } }); // for debugging in the browser console
  };

  if (link.readOnly) {
    bar.readOnly();
    term.options.disableStdin = true;
  }
  const send = (data: string): void => {
    if (session?.canType) session.sendData(data);
  };
  term.onData(send);
  // Some sequences (legacy mouse reports) are binary strings: one char per byte.
  term.onBinary((data) => session?.sendData(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
  mountKeyBar(document.getElementById('keys')!, send, () => term.modes.applicationCursorKeysMode);

  const refit = (): void => {
    fit.fit();
    session?.resize(term.cols, term.rows);
  };
  new ResizeObserver(refit).observe(document.getElementById('terminal')!);
  window.visualViewport?.addEventListener('resize', refit);
  refit();

  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && session?.reconnectNow());
  window.addEventListener('online', () => session?.reconnectNow());
  if (link.pin) {
    bar.locked();
    void askPin(link.agentId).then(begin);
  }
  else begin(undefined);
}

start();
