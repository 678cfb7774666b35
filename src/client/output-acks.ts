// Flow control from the client's side: how far it has processed the output of the session it watches, and
// telling the relay so, which paces the program to the slowest client that keeps acknowledging (PROTOCOL.md
// section 10). An acknowledgement goes at least every ACK_EVERY bytes processed and no later than ACK_DELAY_MS
// after anything was. Positions belong to one stream and acknowledgements to one connection: both start over
// together when the stream does (another session, or the agent restarted), and what was told on a connection
// is forgotten with it. A screen that finishes drawing output of a stream given up since acknowledges nothing.

/** Acknowledge at least every this many bytes processed, */
const ACK_EVERY = 64 * 1024;
/** and no later than this after processing anything (ms). */
const ACK_DELAY_MS = 50;

export class OutputAcks {
  /** How far output has been processed (-1: nothing of this stream yet). */
  private processed = -1;
  /** How far that was told on the current connection (-1: nothing yet). */
  private told = -1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Which stream positions refer to now: one more each time it starts over. */
  private stream = 0;

  /** `tell` sends an acknowledgement up to `offset`, or returns false when none can go now (not admitted, nothing watched). */
  constructor(private readonly tell: (offset: number) => boolean) {}

  /** Output up to stream position `offset` has been processed. */
  processedTo(offset: number): void {
    if (offset <= this.processed) return;
    this.processed = offset;
    if (this.processed - Math.max(this.told, 0) >= ACK_EVERY) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), ACK_DELAY_MS);
  }

  /**
   * What counts output up to `offset` of the stream now as processed, when called (later: once a screen has
   * drawn it); after the stream started over, it does nothing.
   */
  processedBy(offset: number): () => void {
    const stream = this.stream;
    return () => {
      if (stream === this.stream) this.processedTo(offset);
    };
  }

  /** A snapshot starts the screen over at `at`: progress counts from there. */
  startsOver(at: number): void {
    this.processed = Math.min(this.processed, at - 1);
  }

  /** Another stream is followed (another session, or a new stream of the same one): nothing of it is processed or told. */
  restart(): void {
    this.stop();
    this.stream += 1;
    this.processed = -1;
    this.told = -1;
  }

  /** A new connection: nothing was told on it. */
  connected(): void {
    this.stop();
    this.told = -1;
  }

  /** The connection ended: nothing more goes on it. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Tells how far output was processed, if that is further than told. */
  flush(): void {
    this.stop();
    if (this.processed > this.told && this.tell(this.processed)) this.told = this.processed;
  }
}
