// The screen mirror's worker thread: the headless terminals behind screen snapshots, one per session
// (mirror-terminal.ts), and the sessions' recordings (session-recorder.ts), all in one thread per agent so
// that parsing and recording output never delay the agent's main thread and a session does not cost a
// thread of its own. Messages are described in mirror-messages.ts; each names the terminal it is for. They
// come in lists (mirror-worker.ts), and the answers to a list go back in one. Each list is all this thread
// hears for a while (the agent's batch time): what it holds of a trickle of output is parsed and recorded
// before it waits again, so that no timer of its own wakes it meanwhile.

import { parentPort } from 'node:worker_threads';
import { MirrorTerminal } from './mirror-terminal.js';
import type { MirrorRequest, MirrorResponse } from './mirror-messages.js';
import { SessionRecorder } from './session-recorder.js';

/**
 * Less output than this in one message (what a session printed within the agent's batch time) is a trickle,
 * parsed as it comes rather than held for a timer (mirror-terminal.ts): a thousand lines, which the
 * terminal keeps, take more.
 */
const TRICKLE_BYTES = 16 * 1024;

const terminals = new Map<number, MirrorTerminal>();
const recorders = new Map<number, SessionRecorder>();
/** Recordings given output in the list being handled: written out after it. */
const recorded = new Set<SessionRecorder>();
/** Answers gathered while a list of requests is handled, sent together after it; none gathered otherwise. */
let answers: { messages: MirrorResponse[]; transfers: ArrayBuffer[] } | undefined;
/** Answers: with the others of the list being handled, or at once (what comes later: a snapshot, a warning). */
const post = (message: MirrorResponse, transfer?: ArrayBuffer): void => {
  if (answers) {
    answers.messages.push(message);
    if (transfer) answers.transfers.push(transfer);
  } else {
    parentPort!.postMessage([message], transfer ? [transfer] : []);
  }
};

parentPort!.on('message', (requests: MirrorRequest[]) => {
  answers = { messages: [], transfers: [] };
  try {
    for (const request of requests) handle(request);
  } finally {
    for (const recorder of recorded) recorder.writeOut();
    recorded.clear();
    const { messages, transfers } = answers;
    answers = undefined;
    if (messages.length > 0) parentPort!.postMessage(messages, transfers);
  }
});

function handle(request: MirrorRequest): void {
  const { terminal: id } = request;
  if (request.type === 'open') {
    terminals.set(id, new MirrorTerminal(request.settings));
    const recording = request.recording;
    if (recording) {
      const warn = (message: string): void => post({ type: 'warning', terminal: id, message });
      try {
        recorders.set(id, SessionRecorder.start(recording.settings, recording.session, recording.at, warn));
      } catch (error) {
        warn(`this session is not recorded: ${(error as Error).message}`);
      }
    }
    return;
  }
  const terminal = terminals.get(id);
  if (!terminal) return;
  const recorder = recorders.get(id);
  switch (request.type) {
    case 'write': {
      // A lent batch goes back at once (the agent fills it again): what is kept of it is copied.
      const data = request.lent ? request.data.slice() : request.data;
      if (recorder) {
        recorder.out(data, request.at);
        recorded.add(recorder);
      }
      // A trickle is parsed at once (nothing of it would scroll out unparsed); more, as a flood's, is held.
      terminal.write(data, request.end, data.length < TRICKLE_BYTES ? 'pause' : 'more');
      // Taken: what a terminal holds is bounded, so the agent need not wait for it to be parsed.
      if (request.lent) post({ type: 'parsed', terminal: id, end: request.end, lent: request.data.buffer }, request.data.buffer);
      else if (request.answer) post({ type: 'parsed', terminal: id, end: request.end });
      return;
    }
    case 'resize':
      recorder?.resize(request.cols, request.rows, request.at);
      terminal.resize(request.cols, request.rows);
      return;
    case 'record':
      if (request.code === 'i') recorder?.in(request.data, request.at);
      else recorder?.marker(request.data, request.at);
      return;
    case 'snapshot':
      void terminal.snapshot(request.maxBytes).then(({ offset, data }) => post({ type: 'snapshot', terminal: id, id: request.id, offset, data }));
      return;
    case 'lines':
      void terminal.lines(request.max).then((lines) => post({ type: 'lines', terminal: id, id: request.id, lines }));
      return;
    case 'stats':
      void terminal.stats().then((stats) => post({ type: 'stats', terminal: id, id: request.id, stats }));
      return;
    case 'close':
      terminals.delete(id);
      recorders.delete(id);
      recorder?.close();
      terminal.dispose();
      post({ type: 'closed', terminal: id });
      return;
  }
}
