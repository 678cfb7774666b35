// Permission requests answered from a phone, against a stand-in for Claude Code that runs the
// PermissionRequest hook the agent gives it (the real Claude Code is in web-permission.test.ts): every
// client hears of a request and of how it was settled; an answer applies to its request only and once;
// typing at the terminal answers it there; a read-only link cannot answer; a notification's answer travels
// sealed through the relay and opens only with its own key; a request nobody answers is announced once
// more; a muted session sends a device nothing.

import { afterEach, describe, expect, it } from 'vitest';
import { openResult, sealDecision, fromBase64Url, type AttentionEvent } from '../src/protocol/index.js';
import type { AgentEvent } from '../src/agent/agent.js';
import { decryptPush, startPushService, type TestPushService, type TestSubscription } from './helpers/push-service.js';
import { permissionStandIn } from './helpers/fake-anthropic.js';
import { asCredential, atCleanup, cleanup, pairDevice, startAgent, startRelay, TestClient, type TestAgent } from './helpers/system.js';
import { waitFor } from './helpers/wait.js';

afterEach(cleanup);

/** A pushed permission alert, decrypted. */
interface PushedPermission {
  agent: string;
  terminal: number;
  kind: string;
  permission?: { id: string; tool: string; detail: string };
  answer?: { answer: string; key: string };
  reminder?: boolean;
}

interface Setup {
  service: TestPushService;
  relayUrl: string;
  agent: TestAgent;
  phone: TestClient;
  phoneDevice: TestSubscription;
  /** The pushes that reached `device`, decrypted. */
  pushes(device: TestSubscription): PushedPermission[];
}

/** A relay with a push service, an agent running the stand-in, and a paired phone that gets push alerts. */
async function setup(remindAfterMs = 0): Promise<Setup> {
  const service = await startPushService();
  atCleanup(() => service.close());
  const relay = await startRelay({ push: { services: [service.url] } });
  const claude = permissionStandIn();
  const agent = await startAgent(relay.url, { command: claude, claudeCommand: claude, remindAfterMs });
  const phone = new TestClient(agent.url, { credential: asCredential(await pairDevice(agent.url, 'phone')) });
  await phone.waitForOutput('waiting-for-enter');
  const phoneDevice = service.subscribe();
  phone.session.subscribePush(phoneDevice);
  await phone.pushStates.next((s) => s.subscribed, 10_000, 'phone subscribed');
  const pushes = (device: TestSubscription): PushedPermission[] =>
    service.deliveries.items.filter((d) => device.endpoint.endsWith(d.path)).map((d) => JSON.parse(decryptPush(device, d.body)) as PushedPermission);
  return { service, relayUrl: relay.url, agent, phone, phoneDevice, pushes };
}

/** Sends a decision the way the service worker does; resolves with the HTTP status and the opened result, if any. */
async function answerFromNotification(relayUrl: string, pushed: PushedPermission, decision: 'allow' | 'deny', sentAt = Date.now()) {
  const key = fromBase64Url(pushed.answer!.key);
  const sealed = sealDecision(key, pushed.agent, pushed.answer!.answer, { decision, sent_at: sentAt });
  return post(relayUrl, { agent_id: pushed.agent, answer: pushed.answer!.answer, sealed }, (body) => openResult(key, pushed.agent, pushed.answer!.answer, body.sealed as string));
}

async function post<T>(relayUrl: string, body: unknown, open?: (body: Record<string, unknown>) => T): Promise<{ status: number; body: Record<string, unknown>; result: T | undefined }> {
  const response = await fetch(`${relayUrl}/api/answer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, unknown>;
  return { status: response.status, body: json, result: response.ok && open ? open(json) : undefined };
}

const permissionEvent = (e: AttentionEvent): boolean => e.kind === 'permission' && !e.reminder;

describe('permission requests', () => {
  it('reach every client and the devices that get alerts; a full client answers one once; read-only sees it and cannot', async () => {
    const { agent, phone, phoneDevice, service, pushes } = await setup();
    const ready = agent.events.items.find((e): e is Extract<AgentEvent, { event: 'ready' }> => e.event === 'ready')!;
    const viewer = new TestClient(ready.viewUrl, { credential: asCredential(await pairDevice(ready.viewUrl, 'viewer')) });
    await viewer.waitForState('online');
    const viewerDevice = service.subscribe();
    viewer.session.subscribePush(viewerDevice);
    await viewer.pushStates.next((s) => s.subscribed, 10_000, 'viewer subscribed');

    phone.type('\r');
    const asked = await phone.attentions.next(permissionEvent, 10_000, 'the request at the phone');
    expect(asked).toMatchObject({ terminal: 1, permission: { tool: 'Bash', detail: 'echo step-1 (Say the step)' } });
    expect((await viewer.attentions.next(permissionEvent, 10_000, 'the request at the viewer')).permission).toEqual(asked.permission);
    // Pushed encrypted: only the phone, which may answer, gets a key to answer with.
    await service.deliveries.until(() => pushes(phoneDevice).length > 0 && pushes(viewerDevice).length > 0, 15_000, 'a push for each device');
    expect(service.deliveries.items.every((d) => !d.body.includes('step-1'))).toBe(true);
    expect(pushes(phoneDevice)[0]).toMatchObject({ kind: 'permission', permission: asked.permission, answer: { answer: expect.any(String), key: expect.any(String) } });
    expect(pushes(viewerDevice)[0]).toMatchObject({ kind: 'permission', permission: asked.permission });
    expect(pushes(viewerDevice)[0]!.answer).toBeUndefined();

    viewer.session.answerPermission(asked.permission!.id, 'allow');
    expect((await viewer.errors.next((e) => e.code === 'refused', 10_000, 'the refusal')).message).toMatch(/read-only link cannot answer/);
    phone.session.answerPermission(asked.permission!.id, 'deny');
    await phone.waitForOutput('decided-1:deny');
    const settled = { terminal: 1, id: asked.permission!.id, outcome: 'denied', message: 'Denied from phone.' };
    expect(await phone.settlements.next(() => true, 10_000, 'settled at the phone')).toEqual(settled);
    expect(await viewer.settlements.next(() => true, 10_000, 'settled at the viewer')).toEqual(settled);
    // Answered already: a second answer changes nothing, and says so.
    phone.session.answerPermission(asked.permission!.id, 'allow');
    expect(await phone.settlements.next((s) => s.outcome === 'gone', 10_000, 'the late answer')).toMatchObject({ message: expect.stringMatching(/no longer waiting.*Denied from phone/) });
    expect(phone.text.match(/decided-1/g)).toHaveLength(1);
  });

  it('typing at the terminal answers it there: the hook lets go without a decision, and the notification\'s answer does nothing', async () => {
    const { relayUrl, phone, phoneDevice, service, pushes } = await setup();
    phone.type('\r');
    const asked = await phone.attentions.next(permissionEvent, 10_000, 'the request');
    await service.deliveries.until(() => pushes(phoneDevice).length > 0, 15_000, 'the push');
    phone.type('n');
    await phone.waitForOutput('decided-1:none');
    expect(await phone.settlements.next(() => true, 10_000, 'settled')).toMatchObject({ id: asked.permission!.id, outcome: 'gone', message: 'It was answered at the terminal.' });
    const late = await answerFromNotification(relayUrl, pushes(phoneDevice)[0]!, 'allow');
    expect(late.status).toBe(200);
    expect(late.result).toMatchObject({ outcome: 'gone', message: expect.stringMatching(/^Nothing was done.*answered at the terminal/) });
    expect(phone.text).not.toMatch(/decided-1:allow/);
  });

  it('a notification\'s answer travels sealed, opens only with its own key, counts once, and not when it is old', async () => {
    const { relayUrl, agent, phone, phoneDevice, service, pushes } = await setup();
    phone.type('\r');
    await service.deliveries.until(() => pushes(phoneDevice).length > 0, 15_000, 'the push');
    const pushed = pushes(phoneDevice)[0]!;
    // Made up or altered on the way: the agent cannot open it, does nothing, and the relay says it does not know it.
    const forged = await post(relayUrl, { agent_id: pushed.agent, answer: pushed.answer!.answer, sealed: sealDecision(new Uint8Array(32), pushed.agent, pushed.answer!.answer, { decision: 'allow', sent_at: Date.now() }) });
    expect(forged).toMatchObject({ status: 404, body: { error: 'unknown_answer' } });
    // Sealed long ago (a relay that held it back): refused.
    const old = await answerFromNotification(relayUrl, pushed, 'allow', Date.now() - 5 * 60_000);
    expect(old.result).toMatchObject({ outcome: 'refused' });
    expect(phone.text).not.toMatch(/decided-1/);
    const allowed = await answerFromNotification(relayUrl, pushed, 'allow');
    expect(allowed).toMatchObject({ status: 200, result: { outcome: 'allowed', message: "Allowed from phone's notification." } });
    await phone.waitForOutput('decided-1:allow');
    expect(agent.events.items).toContainEqual(expect.objectContaining({ event: 'permission', state: 'allowed', tool: 'Bash' }));
    // The same answer again (a replay): nothing more happens.
    const again = await answerFromNotification(relayUrl, pushed, 'deny');
    expect(again.result).toMatchObject({ outcome: 'gone' });
    expect(phone.text.match(/decided-1/g)).toHaveLength(1);
    // Bad requests get clear errors; an agent that is not there, a 503.
    const bad = await fetch(`${relayUrl}/api/answer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"agent_id":"x"}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/agent_id/);
    expect((await fetch(`${relayUrl}/api/answer`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await fetch(`${relayUrl}/api/answer`)).status).toBe(405);
    await agent.close();
    const offline = await answerFromNotification(relayUrl, pushed, 'allow');
    expect(offline).toMatchObject({ status: 503, body: { error: 'agent_offline' } });
  });

  it('a request nobody answers is announced once more, once; a session ending settles it', async () => {
    const remindAfterMs = 1000;
    const { agent, phone, phoneDevice, service, pushes } = await setup(remindAfterMs);
    phone.type('\r');
    const asked = await phone.attentions.next(permissionEvent, 10_000, 'the request');
    const askedAt = Date.now();
    const reminder = await phone.attentions.next((e) => e.reminder === true, 10_000, 'the reminder');
    expect(reminder.permission).toEqual(asked.permission);
    await service.deliveries.until(() => pushes(phoneDevice).some((p) => p.reminder), 10_000, 'the reminder pushed');
    // A window of three more reminder intervals: no second reminder comes in it.
    await waitFor(() => Date.now() - askedAt > 4 * remindAfterMs, 10_000, 'four reminder intervals');
    expect(phone.attentions.items.filter((e) => e.reminder)).toHaveLength(1);
    expect(pushes(phoneDevice).filter((p) => p.reminder)).toHaveLength(1);
    expect(agent.events.items.filter((e) => e.event === 'permission' && e.state === 'reminded')).toHaveLength(1);
    // The session ends: the request goes with it (the agent may see the program's hook go first).
    phone.session.endSession(1);
    expect(await phone.settlements.next(() => true, 10_000, 'settled')).toMatchObject({ outcome: 'gone', message: expect.stringMatching(/session ended|Claude Code ended/) });
  });

  it('a device can mute a session: it gets no push about it until it unmutes', async () => {
    const { phone, phoneDevice, service, pushes } = await setup();
    phone.session.mutePush(1, true);
    expect(await phone.pushStates.next((s) => s.muted.length > 0, 10_000, 'muted')).toEqual({ subscribed: true, muted: [1] });
    phone.type('\r');
    const first = await phone.attentions.next(permissionEvent, 10_000, 'the request, shown on the open page');
    phone.session.answerPermission(first.permission!.id, 'allow');
    await phone.waitForOutput('decided-1:allow');
    phone.session.mutePush(1, false);
    await phone.pushStates.until((items) => items.at(-1)?.muted.length === 0, 10_000, 'unmuted');
    phone.type('\r');
    await service.deliveries.until(() => pushes(phoneDevice).length > 0, 15_000, 'the push after unmuting');
    expect(pushes(phoneDevice).map((p) => p.permission?.detail)).toEqual(['echo step-2 (Say the step)']);
  });
});

describe('alerts that do not arrive', () => {
  it('the device hears why its last alert did not reach it, and the agent\'s terminal too; the next that arrives clears it', async () => {
    const { agent, phone, phoneDevice, service, pushes } = await setup();
    service.status = 500;
    phone.type('\r');
    const failed = await phone.pushStates.next((s) => s.problem !== undefined, 15_000, 'the problem told to the device');
    expect(failed).toMatchObject({ subscribed: true, problem: 'The last alert did not reach this device: the push service answered 500.' });
    expect(agent.events.items).toContainEqual({ event: 'warning', message: 'a push alert for phone was not delivered (the push service answered 500)' });
    const first = phone.attentions.items.find(permissionEvent)!;
    phone.session.answerPermission(first.permission!.id, 'deny');
    await phone.waitForOutput('decided-1:deny');
    service.status = 201;
    phone.type('\r');
    await service.deliveries.until(() => pushes(phoneDevice).length >= 2, 15_000, 'the next push');
    await phone.pushStates.until((items) => items.at(-1)?.problem === undefined, 10_000, 'the problem cleared');
  });
});
