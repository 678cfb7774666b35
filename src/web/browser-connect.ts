// The client session's transport in the browser: the page's WebSocket.

import type { Connect } from '../client/transport.js';

/** Opens a browser WebSocket for the session. */
export const browserConnect: Connect = (url, handlers) => {
  const ws = new WebSocket(url);
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
