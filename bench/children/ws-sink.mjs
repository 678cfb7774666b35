// A WebSocket server that counts the bytes it receives and says "done" after `expected` of them: the
// receiving end of M3's pipe baseline.
import { WebSocketServer } from 'ws';
import { serve } from '../lib/procs.mjs';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1 << 30 });
wss.on('connection', (ws, req) => {
  const expected = Number(new URL(req.url, 'http://sink').searchParams.get('bytes'));
  let received = 0;
  ws.on('message', (data) => {
    received += data.length;
    if (received >= expected) ws.send('done');
  });
});
await new Promise((resolve) => wss.once('listening', resolve));
serve({}, { url: `ws://127.0.0.1:${wss.address().port}` });
