// Where the relay keeps registered agents. Only hashes of secrets are stored: the SHA-256 of each
// agent's key and the verifiers of the tokens its browsers present (the links', and each paired device's),
// none of which grants access if leaked.
// The in-memory store is the default; file-agent-store.ts persists across restarts.

import { createHash, timingSafeEqual } from 'node:crypto';
import { randomId, toBase64Url, randomBytes, tokenVerifier } from '../protocol/index.js';

/** One registered agent. */
export interface AgentRecord {
  id: string;
  /** SHA-256 of the agent key, base64url. */
  keyHash: string;
  name: string | undefined;
  /** Verifier of the access token of full links; unset until the agent first connects. */
  accessVerifier: string | undefined;
  /** Verifier of the access token of read-only links; unset until the agent first connects. */
  viewVerifier?: string | undefined;
  /** The agent's paired devices: each one's token verifier, and whether it may only watch. */
  devices?: DeviceCredential[];
  createdAt: number;
}

/** A paired device as the relay knows it. */
export interface DeviceCredential {
  id: string;
  verifier: string;
  read_only: boolean;
}

/** Every credential browsers may present for one agent (the agent's `hello` and `credentials`). */
export interface AgentCredentialSet {
  access: string;
  view: string;
  devices: DeviceCredential[];
}

/** What changed when an agent's credentials were replaced: whose browsers must be cut. */
export interface CredentialChange {
  /** The links were replaced: browsers admitted with either are cut. */
  linkReplaced: boolean;
  /** Devices no longer paired (or whose verifier changed): their browsers are cut. */
  removedDevices: string[];
}

/** Storage of agent records, behind which any backend can sit. */
export interface AgentStore {
  /** Creates an agent with a fresh id and key; the key is returned once and stored only as a hash. */
  register(name: string | undefined): Promise<{ id: string; key: string }>;
  get(id: string): Promise<AgentRecord | undefined>;
  /** Records the credentials browsers' tokens are checked against, and says whose browsers lost theirs. */
  setCredentials(id: string, credentials: AgentCredentialSet): Promise<CredentialChange>;
  /** Forgets agents registered before `registeredBefore` (ms) that never connected; returns their ids. */
  expireUnconnected(registeredBefore: number): Promise<string[]>;
  /**
   * Puts back the record of an agent connected to this relay if the store lost it (a Redis that restarted
   * empty), so that the agent's links work again; a record that is there is left alone.
   */
  restore?(record: AgentRecord): Promise<void>;
  /** For a store behind a service (a database): whether it answers now, and if not, why. */
  check?(): Promise<{ ok: true } | { ok: false; reason: string }>;
  close(): Promise<void>;
}

/** SHA-256 of a string, base64url. */
export function hashKey(key: string): string {
  return toBase64Url(createHash('sha256').update(key).digest());
}

/** Constant-time comparison of two base64url digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Stands in for an agent the relay does not know (or a verifier not set yet, or a device not paired), so
 * that checking credentials against it costs the same work as against a real one: an unknown agent id and
 * a wrong key or token are told apart neither by the answer nor by its timing.
 */
const NOBODY = { keyHash: hashKey('nobody'), verifier: tokenVerifier(toBase64Url(new Uint8Array(32))) };

/** Whether `key` is the key of `record` (false for no record, after the same work). */
export function keyMatches(record: AgentRecord | undefined, key: string): boolean {
  const matches = sameDigest(hashKey(key), record?.keyHash ?? NOBODY.keyHash);
  return record !== undefined && matches;
}

/**
 * What `token` opens: the agent's terminal (`full`), a read-only view (`view`), or nothing (always, for no
 * record). With `device`, the token is that paired device's; otherwise a link's.
 */
export function tokenAccess(record: AgentRecord | undefined, token: string, device?: string): 'full' | 'view' | undefined {
  const verifier = tokenVerifier(token);
  if (device !== undefined) {
    const paired = record?.devices?.find((d) => d.id === device);
    const matches = sameDigest(verifier, paired?.verifier ?? NOBODY.verifier);
    if (!paired || !matches) return undefined;
    return paired.read_only ? 'view' : 'full';
  }
  // Both comparisons always run, in constant time, so timing tells nothing about which one matched.
  const full = sameDigest(verifier, record?.accessVerifier ?? NOBODY.verifier) && record?.accessVerifier !== undefined;
  const view = sameDigest(verifier, record?.viewVerifier ?? NOBODY.verifier) && record?.viewVerifier !== undefined;
  return full ? 'full' : view ? 'view' : undefined;
}

/** Applies new credentials to a record; what changed for browsers already admitted. */
export function applyCredentials(record: AgentRecord, credentials: AgentCredentialSet): CredentialChange & { changed: boolean } {
  const linkReplaced = record.accessVerifier !== undefined && (record.accessVerifier !== credentials.access || record.viewVerifier !== credentials.view);
  const now = new Map(credentials.devices.map((d) => [d.id, d]));
  const removedDevices = (record.devices ?? []).filter((d) => now.get(d.id)?.verifier !== d.verifier || now.get(d.id)?.read_only !== d.read_only).map((d) => d.id);
  const changed =
    record.accessVerifier !== credentials.access ||
    record.viewVerifier !== credentials.view ||
    JSON.stringify(record.devices ?? []) !== JSON.stringify(credentials.devices);
  record.accessVerifier = credentials.access;
  record.viewVerifier = credentials.view;
  record.devices = credentials.devices;
  return { linkReplaced, removedDevices, changed };
}

/** A new agent record and its key. */
export function newAgentRecord(name: string | undefined): { record: AgentRecord; key: string } {
  const key = toBase64Url(randomBytes(32));
  return { key, record: { id: randomId(), keyHash: hashKey(key), name, accessVerifier: undefined, createdAt: Date.now() } };
}

/** Records in this process's memory; lost when the relay stops. Subclasses persist each change. */
export class MemoryAgentStore implements AgentStore {
  protected readonly records = new Map<string, AgentRecord>();

  async register(name: string | undefined): Promise<{ id: string; key: string }> {
    const { record, key } = newAgentRecord(name);
    this.records.set(record.id, record);
    await this.saved(record);
    return { id: record.id, key };
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return this.records.get(id);
  }

  async setCredentials(id: string, credentials: AgentCredentialSet): Promise<CredentialChange> {
    const record = this.records.get(id);
    if (!record) return { linkReplaced: false, removedDevices: [] };
    const { changed, ...change } = applyCredentials(record, credentials);
    if (changed) await this.saved(record);
    return change;
  }

  async expireUnconnected(registeredBefore: number): Promise<string[]> {
    const expired = [...this.records.values()].filter((r) => r.accessVerifier === undefined && r.createdAt < registeredBefore).map((r) => r.id);
    for (const id of expired) this.records.delete(id);
    await Promise.all(expired.map((id) => this.deleted(id)));
    return expired;
  }

  async close(): Promise<void> {}

  /** Called after `record` was added or changed; subclasses persist it here. */
  protected async saved(_record: AgentRecord): Promise<void> {}

  /** Called after the record of `id` was removed; subclasses forget it here. */
  protected async deleted(_id: string): Promise<void> {}
}
