// Baseline: a bare WebSocket echo server on loopback.
import { WebSocketServer } from 'ws';
import { serve } from '../lib/procs.mjs';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
await new Promise((resolve) => wss.once('listening', resolve));
serve({}, { url: `ws://127.0.0.1:${wss.address().port}` });
