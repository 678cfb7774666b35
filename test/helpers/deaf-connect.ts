// A client transport for answers lost with a connection: the real one (ws), whose connection goes deaf (hears
// nothing more, as when the network goes while answers are on their way) once the client has sent a frame
// that `deafAfter` picks; the test then closes it (`last()`), and the client reconnects.

import type { Connect, Transport } from '../../src/client/transport.js';
import { wsConnect } from '../../src/net/ws-connect.js';

export function deafeningConnect(origin: string, deafAfter: (data: string | Uint8Array) => boolean): { connect: Connect; last: () => Transport } {
  const base = wsConnect(origin);
  const sockets: Transport[] = [];
  const deaf = new Set<Transport>();
  const connect: Connect = (url, handlers) => {
    const socket: Transport = base(url, {
      ...handlers,
      text: (data) => !deaf.has(socket) && handlers.text(data),
      binary: (data) => !deaf.has(socket) && handlers.binary(data),
    });
    sockets.push(socket);
    return {
      send: (data) => {
        if (deafAfter(data)) deaf.add(socket);
        socket.send(data);
      },
      close: (code, reason) => socket.close(code, reason),
    };
  };
  return { connect, last: () => sockets.at(-1)! };
}
