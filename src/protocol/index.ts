// The ccremote wire protocol: the only definition of what relay, agent and clients send each other.
// It imports neither Node nor DOM APIs, so every side uses this same module.

export * from './access.js';
export * from './answer.js';
export * from './codes.js';
export * from './encoding.js';
export * from './frames.js';
export * from './input-record.js';
export * from './limits.js';
export * from './human-text.js';
export * from './messages.js';
export * from './backoff.js';
export * from './reconnect.js';
export * from './link.js';
export * from './noise.js';
export * from './cpace.js';
export * from './channel.js';
export * from './pin.js';
export * from './presence.js';
export * from './printable.js';
export * from './registration.js';
export * from './schema.js';
export * from './seal.js';
