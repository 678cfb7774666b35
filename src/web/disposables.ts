// Everything a part of the page starts (listeners on the window, the document or the service worker,
// observers, timers, the terminal, the connection), registered where it is started so that one call tears
// all of it down, in reverse order, as xterm.js addons are disposed. A terminal that closes leaves nothing
// running behind it.

/** Something that can be torn down. */
export interface Disposable {
  dispose(): void;
}

export class Disposables implements Disposable {
  private items: Array<() => void> = [];
  private disposed = false;

  /** Registers a teardown (a function, or something with `dispose`); returns it. Once disposed, it runs at once. */
  add<T extends Disposable | (() => void)>(item: T): T {
    const dispose = typeof item === 'function' ? (item as () => void) : () => (item as Disposable).dispose();
    if (this.disposed) dispose();
    else this.items.push(dispose);
    return item;
  }

  /** Listens to `type` on `target` until disposed. */
  listen<E extends Event>(target: EventTarget, type: string, handler: (event: E) => void, options?: AddEventListenerOptions): void {
    const listener = handler as EventListener;
    target.addEventListener(type, listener, options);
    this.add(() => target.removeEventListener(type, listener, options));
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const dispose of this.items.splice(0).reverse()) dispose();
  }
}
