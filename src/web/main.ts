// The web app. At the relay's root it is the start page (the agents this device opened); at
// /a/AGENT_ID it is the terminal: it takes the access link from the address bar (or, without one, the
// credential this device remembers), opens a client session and connects it to xterm.js. Opened with a
// link, the device pairs with the agent: it keeps a key of its own and forgets the link. Keystrokes go
// out raw, exactly as the terminal encodes them (Enter is "\r"); output is written as bytes, so UTF-8
// split across frames is reassembled by the terminal.

import '@xterm/xterm/css/xterm.css';
import './app.css';
import './keys.css';
import './start.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { ClientSession } from '../client/session.js';
import { agentIdOfPath, parseAccessLink, type Credential } from '../protocol/index.js';
import { Attention } from './attention.js';
import { browserConnect } from './browser-connect.js';
import { keepFocus } from './dom.js';
import { Attachments } from './attachments.js';
import { Composer } from './composer.js';
import { KeyBar } from './key-bar.js';
import { askPin } from './pin-form.js';
import { appBase, installApp } from './pwa.js';
import { showStartPage } from './start-page.js';
import { StatusBar } from './status-bar.js';
import { deviceName } from './device-name.js';
import { MAX_FONT, MIN_FONT, findRemembered, loadFontSize, loadWatched, rememberAgent, saveFontSize, saveWatched } from './storage.js';
import { installPaste, paste, type PasteHost } from './paste.js';
import { installTouch } from './touch.js';
import { DevicesPanel } from './devices-panel.js';
import { SessionsPanel } from './sessions-panel.js';
import { RecordingsSheet } from './recordings-sheet.js';
import { Disposables } from './disposables.js';
import { PushAlerts } from './push-alerts.js';
import { PermissionPrompt } from './permission-prompt.js';
import { pageKeyAgreement } from './webcrypto-x25519.js';
import { chooseCipher } from './cipher.js';
import { countMarks, echoMarks, shownText } from './paste-echo.js';

/** After a paste, the longest wait (ms) for the program to show it before the composer's Enter goes anyway. */
const ECHO_WAIT_MS = 5000;
/** How often (ms) the screen is looked at meanwhile. */
const ECHO_POLL_MS = 25;

/** The relay's base URL as links write it: this page's origin and the app's base path. */
const relayUrl = location.origin + appBase().replace(/\/$/, '');

/** What the page seals and opens its boxes with. */
const cipher = chooseCipher();

function start(): void {
  installApp();
  document.getElementById('home-link')!.setAttribute('href', appBase());
  const bar = new StatusBar();
  const agentId = agentIdOfPath(location.pathname);
  if (agentId === undefined) {
    bar.landing();
    if (!showStartPage(relayUrl)) {
      bar.showMessage('ccremote relay', 'Open the link that "ccremote agent" printed on your computer (or scan its QR code) to reach your terminal.');
    }
    return;
  }
  let opening: Opening;
  try {
    opening = openingOfPage(agentId);
  } catch (error) {
    bar.state({ kind: 'failed', code: 0, reason: `This page's address is not a complete access link: ${(error as Error).message}. Open the full link the agent printed (or scan its QR code).` });
    return;
  }
  if (opening.name) bar.setName(opening.name);
  openTerminal(opening, bar);
}

/** What the terminal page connects with. */
interface Opening {
  relayUrl: string;
  agentId: string;
  credential: Credential;
  /** The link needs the PIN (to pair). */
  pin: boolean;
  name?: string;
}

/** The link in the address bar, or else the credential this device remembers for this agent (and its name). */
function openingOfPage(agentId: string): Opening {
  if (!location.hash) {
    const known = findRemembered(relayUrl, agentId);
    if (known) return { relayUrl, agentId, credential: known.credential, pin: known.pin, name: known.name };
  }
  const link = parseAccessLink(location.href);
  return { relayUrl: link.relayUrl, agentId: link.agentId, credential: { kind: 'link', secret: link.secret, readOnly: link.readOnly === true }, pin: link.pin === true };
}

/** Opens the terminal page's connection and terminal; returns what closes both and everything they started. */
function openTerminal(opening: Opening, bar: StatusBar): Disposables {
  const parts = new Disposables();
  const term = new Terminal({
    allowProposedApi: false,
    cursorBlink: true,
    fontFamily: "ui-monospace, 'SF Mono', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
    fontSize: loadFontSize(window.matchMedia('(max-width: 600px)').matches ? 13 : 15),
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
  parts.add(term); // disposes its addons too
  const fit = new FitAddon();
  term.loadAddon(fit);
  const container = document.getElementById('terminal')!;
  term.open(container);
  let agentName = opening.name ?? '';
  let credential = opening.credential;
  const pushAlerts = new PushAlerts(opening.relayUrl, () => session, () => credential.kind === 'device');
  const attention = new Attention(() => agentName || 'ccremote', (terminal) => switchTo(terminal), parts, pushAlerts);
  let fullAccess = false;
  const permissions = new PermissionPrompt((id, decision) => session?.answerPermission(id, decision), () => fullAccess, parts);
  term.onBell(() => attention.raise({ kind: 'bell' }));

  /**
   * Once the agent accepted the credential, this device remembers it (its own key once paired, which
   * replaces the link), and the address bar drops the secret.
   */
  const remember = (name: string | undefined): void => {
    agentName = name ?? agentName;
    const saved = rememberAgent({
      agentId: opening.agentId,
      relayUrl: opening.relayUrl,
      credential,
      pin: opening.pin && credential.kind === 'link',
      ...(agentName ? { name: agentName } : {}),
      lastOpened: Date.now(),
    });
    if (saved && location.hash) history.replaceState(null, '', location.pathname + location.search);
  };

  /** The screen's rows (not the scrollback) as text. */
  function* screenRows(): Iterable<string> {
    const buffer = term.buffer.active;
    for (let y = buffer.baseY; y < buffer.baseY + term.rows; y++) yield buffer.getLine(y)?.translateToString(true) ?? '';
  }
  /**
   * Resolves once the program shows the paste of `text` (paste-echo.ts): the agent wrote it, and the
   * screen holds its marks once more than when it was sent. A program that shows nothing of it gets what
   * follows after ECHO_WAIT_MS.
   */
  const read = async (text: string): Promise<void> => {
    const marks = echoMarks(text);
    if (marks.length === 0) return;
    const shown = (): number => countMarks(shownText(screenRows()), marks);
    const before = shown();
    await session?.delivered();
    const deadline = performance.now() + ECHO_WAIT_MS;
    while (performance.now() < deadline && shown() <= before) await new Promise((resolve) => setTimeout(resolve, ECHO_POLL_MS));
  };

  const keyAgreement = parts.add(pageKeyAgreement()).agreement;
  // The session to show first: the one a notification was for (?session=N), or the one this device showed last.
  const asked = Number(new URLSearchParams(location.search).get('session'));
  const firstWatch = Number.isSafeInteger(asked) && asked > 0 ? asked : loadWatched(opening.relayUrl, opening.agentId);
  const open = (pin: string | undefined): ClientSession => {
    const opened: ClientSession = new ClientSession({
      relayUrl: opening.relayUrl,
      agentId: opening.agentId,
      credential,
      pin,
      ...(credential.kind === 'link' ? { pair: { name: deviceName() } } : {}),
      keyAgreement,
      connect: browserConnect,
      watch: firstWatch ?? 'latest',
      // Flow control as xterm.js recommends: output counts as processed once the terminal has parsed it.
      manualAck: true,
      events: {
        output: (data, _end, processed) => {
          term.write(data, processed);
        },
        snapshot: (data, _offset, kind, processed) => {
          term.reset();
          term.write(data, processed);
          if (kind === 'unavailable') bar.screenUnavailable();
        },
        state: (state) => {
          if (state.kind === 'failed' && (state.refused === 'unknown_credential' || state.refused === 'pin_required') && pin !== undefined) {
            // The agent refused the PIN exchange (most likely a mistyped PIN), or exchanges kept failing to
            // complete (each would let a relay test one guess): ask again.
            opened.close();
            bar.locked();
            void askPin(state.reason).then(begin);
            return;
          }
          if (state.kind === 'online' || state.kind === 'agent_offline') remember(state.name);
          bar.state(state);
        },
        paired: (device) => {
          credential = { kind: 'device', id: device.id, secret: device.secret, readOnly: device.access === 'view' };
          remember(undefined);
          attention.showPermission();
        },
        pushState: (subscribed, muted, problem) => {
          attention.pushState(subscribed, problem);
          sessions.alerts(subscribed, muted);
        },
        permissionSettled: (settled) => permissions.settled(settled.id, settled.outcome, settled.message),
        opened: (welcome) => {
          devices.opened(welcome);
          fullAccess = welcome.access === 'full';
          sessions.access(fullAccess);
        },
        sessions: (list) => sessions.show(list),
        watching: (terminal) => {
          // Another session: what the screen showed belongs to the one before.
          term.reset();
          sessions.watched(terminal);
          attention.watched(terminal);
          if (terminal !== null) saveWatched(opening.relayUrl, opening.agentId, terminal);
          if (new URLSearchParams(location.search).has('session')) history.replaceState(null, '', location.pathname + location.hash);
        },
        devices: (list) => devices.show(list),
        revoked: () => opened.listDevices(),
        resync: (how) => bar.resync(how),
        exit: (status) => bar.status(`${sessions.nameOf(status.terminal) ?? `Session ${status.terminal}`}: ${status.message}`),
        latency: (ms) => bar.setLatency(ms),
        attention: (event) => {
          const name = sessions.nameOf(event.terminal) ?? `Session ${event.terminal}`;
          if (event.permission) permissions.ask(event.terminal, name, event.permission);
          attention.raise({ ...event, session: name, here: event.terminal === opened.watching });
        },
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
  parts.add(() => session?.close());
  const devices = new DevicesPanel(() => session);
  /** Shows another session, on the same connection. */
  const switchTo = (terminal: number): void => {
    session?.watch(terminal);
    term.focus();
  };
  const recordings = new RecordingsSheet(() => session, () => term.focus());
  parts.add(() => recordings.dispose());
  const sessions = new SessionsPanel(() => session, switchTo, () => void recordings.open());
  // A tap on a notification while this page is open: the service worker asks it to show that session.
  if (navigator.serviceWorker) {
    parts.listen<MessageEvent>(navigator.serviceWorker, 'message', (event) => {
      const data = event.data as { type?: unknown; agent?: unknown; terminal?: unknown } | null;
      if (data?.type === 'open-session' && data.agent === opening.agentId && typeof data.terminal === 'number') switchTo(data.terminal);
    });
  }
  const begin = (pin: string | undefined): void => {
    if (parts.isDisposed) return;
    session = open(pin);
    refit();
    session.start();
    term.focus();
    Object.assign(window, { ccremote: { session, term, cipher, close: () => parts.dispose() } }); // for debugging in the browser console
  };

  if (opening.credential.readOnly) {
    bar.readOnly();
    term.options.disableStdin = true;
  }
  const send = (data: string): boolean => session?.canType === true && session.sendData(data);
  const keyBar = new KeyBar(document.getElementById('actions')!, document.getElementById('key-row')!, {
    send,
    applicationCursor: () => term.modes.applicationCursorKeysMode,
  });
  term.onData((data) => send(keyBar.typed(data)));
  // Some sequences (legacy mouse reports) are binary strings: one char per byte.
  term.onBinary((data) => session?.sendData(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
  const bracketedPaste = (): boolean => term.modes.bracketedPasteMode;
  const composer = new Composer({ send, read, bracketedPaste, focusTerminal: () => term.focus() });
  /** The session shown, for what is done to it from the page. */
  const shown = (): { session: ClientSession; terminal: number } => {
    const terminal = session?.watching ?? null;
    if (!session || terminal === null) throw new Error('no session is shown');
    return { session, terminal };
  };
  new Attachments({
    upload: async (name, bytes, progress) => {
      const { session: s, terminal } = shown();
      return s.uploadFile(terminal, name, bytes, progress);
    },
    download: async (path, progress) => {
      const { session: s, terminal } = shown();
      return s.downloadFile(terminal, path, progress);
    },
    insert: (text) => composer.insert(text),
  });
  const pasting: PasteHost = { send, bracketedPaste };
  installPaste(container, pasting);
  const { setFont } = installTools(term, pasting, bar, () => refit());
  installTouch(container, term, { send, setFontSize: setFont });

  /** Fits the terminal to its box, keeping the cursor's line in view if the view was following it. */
  const refit = (): void => {
    const buffer = term.buffer.active;
    const following = buffer.viewportY >= buffer.baseY;
    fit.fit();
    if (following) term.scrollToBottom();
    session?.resize(term.cols, term.rows);
  };
  const observer = new ResizeObserver(refit);
  observer.observe(container);
  parts.add(() => observer.disconnect());
  // iOS resizes neither the layout nor the fixed-height body when its keyboard opens: follow the visual
  // viewport. The terminal's box changes with it, and the observer above refits.
  const viewport = window.visualViewport;
  const followViewport = (): void => {
    if (viewport) document.documentElement.style.setProperty('--app-height', `${Math.round(viewport.height)}px`);
  };
  if (viewport) parts.listen(viewport, 'resize', followViewport);
  parts.listen(window, 'orientationchange', followViewport);
  followViewport();

  parts.listen(document, 'visibilitychange', () => document.visibilityState === 'visible' && session?.reconnectNow());
  parts.listen(window, 'online', () => session?.reconnectNow());
  if (opening.pin && opening.credential.kind === 'link') {
    bar.locked();
    void askPin().then(begin);
  } else begin(undefined);
  return parts;
}

/** The menu: font size (remembered), clipboard paste and copy, and the floating Copy for a selection. */
function installTools(term: Terminal, pasting: PasteHost, bar: StatusBar, refit: () => void): { setFont(size: number): void } {
  const tools = document.getElementById('tools')!;
  const toggle = document.getElementById('menu-toggle')!;
  const sizeLabel = document.getElementById('font-size')!;
  const showSize = (): void => void (sizeLabel.textContent = `${term.options.fontSize} px`);
  toggle.addEventListener('click', () => {
    tools.hidden = !tools.hidden;
    toggle.setAttribute('aria-expanded', String(!tools.hidden));
    refit();
  });
  const setFont = (size: number): void => {
    term.options.fontSize = Math.min(MAX_FONT, Math.max(MIN_FONT, size));
    saveFontSize(term.options.fontSize);
    showSize();
    refit();
  };
  document.getElementById('font-smaller')!.addEventListener('click', () => setFont((term.options.fontSize ?? 13) - 1));
  document.getElementById('font-larger')!.addEventListener('click', () => setFont((term.options.fontSize ?? 13) + 1));
  showSize();

  const copy = async (): Promise<void> => {
    const text = term.getSelection();
    if (!text) return bar.alert('Nothing is selected: press and hold a word to select it.');
    try {
      await navigator.clipboard.writeText(text);
      term.clearSelection();
      bar.alert('Copied.');
    } catch {
      bar.alert('The browser did not allow copying.');
    }
  };
  document.getElementById('copy')!.addEventListener('click', () => void copy());
  const chip = document.getElementById('copy-chip')!;
  keepFocus(chip);
  chip.addEventListener('click', () => void copy());
  term.onSelectionChange(() => void (chip.hidden = !term.hasSelection()));

  document.getElementById('paste')!.addEventListener('click', async () => {
    try {
      paste(pasting, await navigator.clipboard.readText());
    } catch {
      bar.alert('The browser did not allow reading the clipboard; use the composer (✎) and paste there.');
    }
  });
  return { setFont };
}

start();
