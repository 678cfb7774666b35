// Which client's terminal size the PTY takes when several are attached: the client that most recently
// typed; before anyone has typed, the client that most recently reported a size. A viewer that joins,
// reconnects or resizes its window does not reflow the screen of the person typing.

/** A terminal size in cells. */
export interface Size {
  cols: number;
  rows: number;
}

/** Tracks clients' sizes and activity; every method returns the size the PTY should now have, if it changed. */
export class SizePolicy {
  private readonly sizes = new Map<number, Size>();
  /** Clients that typed, least recently first. */
  private typed: number[] = [];
  /** Clients with a size, least recently reported first. */
  private reported: number[] = [];
  /** `applied`: the size the PTY has already (kept across a new relay connection, whose clients are new). */
  constructor(private applied?: Size) {}

  /** The size last decided on, if any. */
  get current(): Size | undefined {
    return this.applied;
  }

  /** A client reported its size. */
  report(client: number, size: Size): Size | undefined {
    this.sizes.set(client, size);
    this.reported = moveToEnd(this.reported, client);
    return this.settle();
  }

  /** A client typed: its size counts from now on (if it has reported one). */
  activity(client: number): Size | undefined {
    if (this.typed[this.typed.length - 1] === client) return undefined;
    this.typed = moveToEnd(this.typed, client);
    return this.settle();
  }

  /** A client left. */
  remove(client: number): Size | undefined {
    this.sizes.delete(client);
    this.typed = this.typed.filter((c) => c !== client);
    this.reported = this.reported.filter((c) => c !== client);
    return this.settle();
  }

  private settle(): Size | undefined {
    const typist = this.typed.findLast((c) => this.sizes.has(c));
    const active = typist ?? this.reported[this.reported.length - 1];
    const size = active === undefined ? undefined : this.sizes.get(active);
    if (!size || (this.applied && this.applied.cols === size.cols && this.applied.rows === size.rows)) return undefined;
    this.applied = size;
    return size;
  }
}

function moveToEnd(list: number[], client: number): number[] {
  const rest = list.filter((c) => c !== client);
  rest.push(client);
  return rest;
}
