// ccremote as a library: build a relay or an agent from options; the CLI is a thin layer on top.

export { createRelay, type Relay, type RelayOptions, type RelayLogEvent } from './relay/relay.js';
export { MemoryAgentStore, type AgentStore, type AgentRecord } from './relay/agent-store.js';
export { FileAgentStore } from './relay/file-agent-store.js';
export { createAgent, AgentStartError, type Agent, type AgentEvent, type AgentOptions } from './agent/agent.js';
export { attach, type AttachOptions } from './attach/attach.js';
export { ClientSession, type ClientSessionOptions, type SessionEvents, type SessionState } from './client/session.js';
export { wsConnect } from './net/ws-connect.js';
export { useNativeCrypto } from './net/native-crypto.js';
export * as protocol from './protocol/index.js';
export { VERSION } from './version.js';
