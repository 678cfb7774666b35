// Web Push through the relay, against a local push service that checks the VAPID signature and decrypts
// as a browser would: the agent encrypts for the device, the relay signs and sends, and sends only to
// allowed push services, only for subscriptions the agent registered, at a bounded rate.

import { afterEach, describe, expect, it } from 'vitest';
import { encryptPush } from '../src/agent/push-sender.js';
import { PROTOCOL_VERSION, encodeMessage, randomId, socketUrl, type RelayToAgent } from '../src/protocol/index.js';
import { decryptPush, startPushService, type TestPushService } from './helpers/push-service.js';
import { claudeStandIn } from './helpers/fake-anthropic.js';
import { asCredential, atCleanup, cleanup, pairDevice, rawSocket, startAgent, startRelay, TestClient, type RawSocket } from './helpers/system.js';

afterEach(cleanup);

/** An agent registered with the relay, connected by a raw socket that said hello. */
async function rawAgent(relayUrl: string): Promise<RawSocket & { results: () => Array<Extract<RelayToAgent, { type: 'push_result' }>> }> {
  const registration = (await (await fetch(`${relayUrl}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { agent_id: string; agent_key: string };
  const socket = rawSocket(socketUrl(relayUrl, `/ws/agent/${registration.agent_id}`), { headers: { authorization: `Bearer ${registration.agent_key}` } });
  await socket.opened;
  socket.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, terminals: [], access: 'A'.repeat(43), view: 'B'.repeat(43), devices: [] }));
  await socket.messages.next((m) => m.text?.includes('"connected"') === true, 10_000, 'connected');
  return Object.assign(socket, {
    results: () => socket.messages.items.filter((m) => m.text?.includes('"push_result"')).map((m) => JSON.parse(m.text!) as Extract<RelayToAgent, { type: 'push_result' }>),
  });
}

async function setup(rate?: { burst: number; perMinute: number }): Promise<{ service: TestPushService; relayUrl: string }> {
  const service = await startPushService();
  atCleanup(() => service.close());
  const relay = await startRelay({ push: { services: [service.url], ...(rate ? { rate } : {}) } });
  return { service, relayUrl: relay.url };
}

describe('Web Push through the relay', () => {
  it('sends what the agent encrypted for the device, signed with the relay’s VAPID key; only the device can read it', async () => {
    const { service, relayUrl } = await setup();
    const agent = await rawAgent(relayUrl);
    const device = service.subscribe();
    const subscription = randomId();
    agent.ws.send(encodeMessage({ type: 'push_register', subscription, endpoint: device.endpoint }));
    await agent.messages.until(() => agent.results().some((r) => r.status === 201), 10_000, 'registered');
    const message = { kind: 'permission', marker: 'PLAINTEXT-MARKER-7', command: 'rm -rf build' };
    agent.ws.send(encodeMessage({ type: 'push', subscription, payload: encryptPush(device, message), ttl: 600, urgency: 'high', topic: 'session-1' }));
    const delivery = await service.deliveries.next(() => true, 10_000, 'the push at the push service');
    expect(delivery.vapid).toMatchObject({ ok: true });
    const { public_key } = (await (await fetch(`${relayUrl}/api/push/key`)).json()) as { public_key: string };
    expect(delivery.vapid.ok && delivery.vapid.publicKey).toBe(public_key);
    expect(delivery.headers).toMatchObject({ 'content-encoding': 'aes128gcm', ttl: '600', urgency: 'high', topic: 'session-1' });
    expect(delivery.body.includes('PLAINTEXT-MARKER-7')).toBe(false);
    expect(JSON.parse(decryptPush(device, delivery.body))).toEqual(message);
    await agent.messages.until(() => agent.results().some((r) => r.status === 201 && r.subscription === subscription && agent.results().length >= 2), 10_000, 'the push result');
  });

  it('is no open proxy: endpoints outside the allowed services (look-alikes too), and subscriptions the agent did not register, are refused', async () => {
    const { service, relayUrl } = await setup();
    const agent = await rawAgent(relayUrl);
    const other = await rawAgent(relayUrl);
    const device = service.subscribe();
    const lookalikes = ['https://fcm.googleapis.com.evil.example/x', 'https://wns2-evil.example/w', 'http://fcm.googleapis.com/x', 'https://fcm.googleapis.com:8443/x'];
    for (const endpoint of ['http://169.254.169.254/latest/meta-data', 'https://example.com/push', 'not a url', `http://user:pw@${device.endpoint.slice(7)}`, ...lookalikes]) {
      const subscription = randomId();
      agent.ws.send(encodeMessage({ type: 'push_register', subscription, endpoint }));
      await agent.messages.until(() => agent.results().some((r) => r.subscription === subscription), 10_000, `the answer for ${endpoint}`);
      expect(agent.results().find((r) => r.subscription === subscription)).toMatchObject({ status: 0 });
    }
    // Registered by one agent: another cannot send to it.
    const subscription = randomId();
    agent.ws.send(encodeMessage({ type: 'push_register', subscription, endpoint: device.endpoint }));
    await agent.messages.until(() => agent.results().some((r) => r.subscription === subscription && r.status === 201));
    other.ws.send(encodeMessage({ type: 'push', subscription, payload: encryptPush(device, { hi: 1 }), ttl: 60, urgency: 'normal' }));
    await other.messages.until(() => other.results().length > 0, 10_000, 'the refusal');
    expect(other.results()[0]).toMatchObject({ status: 0, message: expect.stringMatching(/no such subscription/) });
    expect(service.deliveries.items).toEqual([]);
  });

  it('takes the major browsers\' push services, exactly', async () => {
    const { PushRelay } = await import('../src/relay/push-relay.js');
    const relay = new PushRelay({ keys: { publicKey: 'x', privateKey: 'y' }, subject: 'https://relay.example' });
    for (const endpoint of ['https://fcm.googleapis.com/fcm/send/abc', 'https://updates.push.services.mozilla.com/wpush/v2/abc', 'https://web.push.apple.com/QO', 'https://wns2-par02p.notify.windows.com/w/?token=x']) expect(relay.allows(endpoint), endpoint).toBe(true);
    for (const endpoint of ['https://fcm.googleapis.com.evil.example/x', 'https://wns2-evil.example/w', 'http://fcm.googleapis.com/x', 'https://evil.example/?https://fcm.googleapis.com/', 'https://notify.windows.com.evil.example/']) expect(relay.allows(endpoint), endpoint).toBe(false);
  });

  it('bounds the pushes of each agent, and forgets a subscription the push service no longer knows', async () => {
    const { service, relayUrl } = await setup({ burst: 3, perMinute: 1 });
    const agent = await rawAgent(relayUrl);
    const device = service.subscribe();
    const subscription = randomId();
    agent.ws.send(encodeMessage({ type: 'push_register', subscription, endpoint: device.endpoint }));
    await agent.messages.until(() => agent.results().some((r) => r.status === 201));
    for (let i = 0; i < 6; i++) agent.ws.send(encodeMessage({ type: 'push', subscription, payload: encryptPush(device, { i }), ttl: 60, urgency: 'normal' }));
    await agent.messages.until(() => agent.results().length >= 7, 10_000, 'every push answered');
    expect(service.deliveries.items).toHaveLength(3);
    expect(agent.results().filter((r) => r.status === 0).every((r) => /too many pushes/.test(r.message ?? ''))).toBe(true);
    // A push service that says the subscription is gone: the relay forgets it.
    const { service: gone, relayUrl: second } = await setup();
    const again = await rawAgent(second);
    const expired = gone.subscribe();
    const id = randomId();
    again.ws.send(encodeMessage({ type: 'push_register', subscription: id, endpoint: expired.endpoint }));
    await again.messages.until(() => again.results().some((r) => r.status === 201));
    gone.status = 410;
    again.ws.send(encodeMessage({ type: 'push', subscription: id, payload: encryptPush(expired, { a: 1 }), ttl: 60, urgency: 'normal' }));
    await again.messages.until(() => again.results().some((r) => r.status === 410), 10_000, 'the 410');
    again.ws.send(encodeMessage({ type: 'push', subscription: id, payload: encryptPush(expired, { a: 2 }), ttl: 60, urgency: 'normal' }));
    await again.messages.until(() => again.results().some((r) => r.status === 0), 10_000, 'refused after');
    expect(gone.deliveries.items).toHaveLength(1);
  });
});

describe('push alerts from the agent', () => {
  it('reach a paired device that subscribed, encrypted for it, naming the session; a revoked device gets none', async () => {
    const { service, relayUrl } = await setup();
    const agent = await startAgent(relayUrl, { command: claudeStandIn(), claudeCommand: claudeStandIn() });
    const [phonePaired, tabletPaired] = [await pairDevice(agent.url, 'phone'), await pairDevice(agent.url, 'tablet')];
    const phone = new TestClient(agent.url, { credential: asCredential(phonePaired) });
    const tablet = new TestClient(agent.url, { credential: asCredential(tabletPaired) });
    await Promise.all([phone.waitForState('online'), tablet.waitForState('online')]);
    const [phoneDevice, tabletDevice] = [service.subscribe(), service.subscribe()];
    phone.session.subscribePush(phoneDevice);
    tablet.session.subscribePush(tabletDevice);
    await phone.pushStates.next((s) => s.subscribed, 10_000, 'phone subscribed');
    await tablet.pushStates.next((s) => s.subscribed, 10_000, 'tablet subscribed');
    const to = (device: { endpoint: string }) => service.deliveries.items.filter((d) => device.endpoint.endsWith(d.path));
    await phone.waitForOutput('waiting-for-enter');
    phone.type('\r');
    await service.deliveries.until((items) => items.length >= 2, 15_000, 'a push for each device');
    const [delivery] = to(phoneDevice);
    expect(delivery!.vapid).toMatchObject({ ok: true });
    expect(delivery!.body.includes('permission')).toBe(false);
    expect(delivery!.headers).toMatchObject({ urgency: 'high', topic: 'session-1' });
    expect(JSON.parse(decryptPush(phoneDevice, delivery!.body))).toMatchObject({ terminal: 1, kind: 'notification', message: 'Claude needs your permission to use Bash', session: expect.any(String), agent: agent.agent.agentId });
    expect(JSON.parse(decryptPush(tabletDevice, to(tabletDevice)[0]!.body))).toMatchObject({ kind: 'notification' });
    // A link holder (not paired) cannot subscribe: alerts go to devices the agent knows.
    const linkHolder = new TestClient(agent.url);
    await linkHolder.waitForState('online');
    linkHolder.session.subscribePush(service.subscribe());
    expect((await linkHolder.errors.next((e) => e.code === 'refused', 10_000, 'the refusal')).message).toMatch(/paired device/);
    // The phone is revoked: the next alert reaches the tablet only.
    tablet.session.revokeDevice(phonePaired.id);
    await agent.events.next((e) => e.event === 'revoked', 10_000, 'revoked');
    tablet.type('\r');
    await service.deliveries.until(() => to(tabletDevice).length >= 2, 15_000, 'the second push for the tablet');
    expect(to(phoneDevice)).toHaveLength(1);
  });
});
