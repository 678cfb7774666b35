// The client session's transport in Node: a `ws` WebSocket that presents the relay's own origin, as the
// relay's web page would.

import { WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES } from '../protocol/index.js';
import type { Connect } from '../client/transport.js';

/** A Connect for Node that sends `origin` as the Origin header. */
export function wsConnect(origin: string): Connect {
  return (url, handlers) => {
    const ws = new WebSocket(url, { origin, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false, handshakeTimeout: 15_000 });
    ws.on('open', () => handlers.open());
    ws.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      if (isBinary) handlers.binary(bytes);
      else handlers.text(bytes.toString('utf8'));
    });
    ws.on('close', (code, reason) => handlers.close(code, reason.toString()));
    ws.on('error', () => undefined); // 'close' follows with the code
    return {
      send: (data) => {
        if (ws.readyState === ws.OPEN) ws.send(data);
      },
      close: (code, reason) => {
        if (ws.readyState === ws.CONNECTING) ws.terminate();
        else if (ws.readyState === ws.OPEN) ws.close(code, reason);
      },
    };
  };
}
