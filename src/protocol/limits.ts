// Protocol-wide constants: the version spoken and the sizes every side enforces.

/** Version carried in every `hello`; a peer speaking another version is closed with `UnsupportedVersion`. */
export const PROTOCOL_VERSION = 5;

/** Largest WebSocket message either side accepts (1 MiB); larger ones close the socket with 1009. */
export const MAX_MESSAGE_BYTES = 1 << 20;

/** Largest JSON control message (16 KiB); control messages are small, terminal bytes travel in binary frames. */
export const MAX_CONTROL_BYTES = 16 * 1024;

/** Largest terminal payload the agent puts in one output frame (256 KiB). */
export const MAX_OUTPUT_CHUNK = 256 * 1024;

/** Largest input payload a client puts in one input frame (64 KiB); bigger pastes are split. */
export const MAX_INPUT_CHUNK = 64 * 1024;

/** Longest agent name, in characters. */
export const MAX_NAME_LENGTH = 64;

/** Longest human-readable message (an `error`, an exit's message, a refusal), in characters. */
export const MAX_TEXT_LENGTH = 512;

/** Terminal size bounds accepted in a resize. */
export const MIN_COLS = 2;
export const MIN_ROWS = 1;
export const MAX_COLS = 1000;
export const MAX_ROWS = 500;

/** Largest stream offset or sequence number representable exactly (2^53 − 1). */
export const MAX_POSITION = Number.MAX_SAFE_INTEGER;

/** Longest message an attention event carries, in characters. */
export const MAX_ATTENTION_MESSAGE = 500;
