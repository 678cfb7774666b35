// The client session's transport in the browser: the page's WebSocket.

import type { Connect } from '../client/transport.js';

/** Opens a browser WebSocket for the session. */
export const browserConnect: Connect = (url, handlers) => {
  let ws: WebSocket;
  try {
    ws = new WebSocket(url);
  } catch (error) {
    return failed(handlers, (error as Error).message);
  }
  // A URL the page's Content-Security-Policy does not allow: Chromium closes the socket at once and says
  // nothing more (no error, no close event).
  if (ws.readyState === WebSocket.CLOSED) return failed(handlers, 'the page may not connect there');
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => handlers.open();
  ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
    if (typeof event.data === 'string') handlers.text(event.data);
    else handlers.binary(new Uint8Array(event.data));
  };
  ws.onclose = (event) => handlers.close(event.code, event.reason);
  return {
    send: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    },
    close: (code, reason) => {
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close(code, reason);
    },
  };
};

/** A socket that could not even start: its close is reported once the caller has it, as for any failed connection. */
function failed(handlers: Parameters<Connect>[1], reason: string): ReturnType<Connect> {
  let closed = false;
  queueMicrotask(() => !closed && handlers.close(1006, reason));
  return { send: () => undefined, close: () => void (closed = true) };
}
