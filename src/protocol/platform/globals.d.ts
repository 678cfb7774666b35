// The few globals that both Node.js and browsers provide, declared for the transport-free layers
// (protocol, client). Only this layer's own tsconfig includes this file, so these layers cannot
// reach for Node or DOM APIs by accident.

declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T };

interface TimerHandle {
  readonly __timer: unique symbol;
}
declare function setTimeout(callback: () => void, ms?: number): TimerHandle;
declare function clearTimeout(handle: TimerHandle | undefined): void;
declare function setInterval(callback: () => void, ms?: number): TimerHandle;
declare function clearInterval(handle: TimerHandle | undefined): void;
