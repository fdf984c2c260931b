/**
 * The live stream (/api/v1/live) over a real socket: authentication and scope on the
 * upgrade and on every message, filters, samples with the other side `external`, the
 * heartbeat, an oversized message. Rates come from the real demo SmartNIC through the
 * real NIC collector (test/live-stream/server.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, connect, type Live, refusal, sample, startLive, TOKENS } from './server.js';

let live: Live;
beforeAll(async () => {
  live = await startLive({ heartbeatMs: 400 });
});
afterAll(async () => {
  await live?.close();
});

type Rates = { pods: { namespace: string; pod: string; txBps: number }[]; nodes: { capacityBps: number }[] };
const isRates = (m: Record<string, unknown>) => m.type === 'rates';

describe('the upgrade', () => {
  it('is refused without a token, with a wrong one, with a metrics token, from another origin', async () => {
    expect(await refusal(live.url)).toBe(401);
    expect(await refusal(live.url, { authorization: 'Bearer not-a-token-at-all-1234' })).toBe(401);
    expect(await refusal(live.url, { cookie: 'podwire_session=forged' })).toBe(401);
    expect(await refusal(live.url, bearer(TOKENS.metrics).headers)).toBe(403);
    expect(await refusal(live.url, { ...bearer(TOKENS.admin).headers, origin: 'http://evil.example' })).toBe(
      403,
    );
  });

  it('refuses a bad filter (400) and a namespace outside the scope (403)', async () => {
    expect(await refusal(`${live.url}?vlan=5000`, bearer(TOKENS.admin).headers)).toBe(400);
    expect(await refusal(`${live.url}?namespace=Bad_Name`, bearer(TOKENS.admin).headers)).toBe(400);
    expect(await refusal(`${live.url}?nope=1`, bearer(TOKENS.admin).headers)).toBe(400);
    expect(await refusal(`${live.url}?namespace=payments`, bearer(TOKENS.shop).headers)).toBe(403);
  });

  it('answers a plain GET with 426', async () => {
    const r = await fetch(`${live.httpUrl}/api/v1/live`, bearer(TOKENS.admin));
    expect(r.status).toBe(426);
  });
});

describe('rates', () => {
  it('an admin gets every namespace and the nodes with their capacity, about once a second', async () => {
    const c = connect(live.url, bearer(TOKENS.admin));
    await c.opened;
    const first = await c.next(isRates);
    await c.next((m) => isRates(m) && m !== first && (m.t as number) > (first.t as number), 3000);
    const r = c.messages.filter(isRates).at(-1) as unknown as Rates;
    // every namespace with a pod on a VF (rates are VF counters)
    const onVfs = live.inventory.endpoints.filter((e) => e.mode === 'l2' && e.vf !== undefined);
    expect(new Set(r.pods.map((p) => p.namespace))).toEqual(new Set(onVfs.map((e) => e.namespace)));
    expect(r.pods.length).toBe(new Set(onVfs.map((e) => `${e.namespace}/${e.pod}`)).size);
    expect(r.nodes.length).toBe(2);
    expect(r.nodes[0]!.capacityBps).toBeGreaterThan(0);
    // the demo NIC sends: rates are measured, not zero, once two collections exist
    expect(r.pods.some((p) => p.txBps > 0)).toBe(true);
    c.ws.close();
  });

  it('a tenant gets only its namespace, no node totals, and cannot widen it by subscribing', async () => {
    const c = connect(live.url, bearer(TOKENS.shop));
    await c.opened;
    const r = (await c.next(isRates)) as unknown as Rates;
    expect(r.pods.length).toBeGreaterThan(0);
    expect(r.pods.every((p) => p.namespace === 'shop')).toBe(true);
    expect(r.nodes).toEqual([]);
    c.ws.send(JSON.stringify({ type: 'subscribe', namespace: 'payments' }));
    const e = await c.next((m) => m.type === 'error');
    expect(e.error).toMatch(/namespace: 'payments' is outside this token's scope/);
    const n = c.messages.length;
    const later = (await c.next((m) => isRates(m) && c.messages.indexOf(m) >= n)) as unknown as Rates;
    expect(later.pods.every((p) => p.namespace === 'shop')).toBe(true);
    c.ws.close();
  });

  it('filters narrow: a pod, a VLAN, a VNI', async () => {
    const shopPod = live.inventory.endpoints.find((e) => e.namespace === 'shop' && e.mode === 'l2')!;
    const c = connect(live.url, bearer(TOKENS.admin));
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'subscribe', namespace: 'shop', pod: shopPod.pod }));
    await c.next((m) => m.type === 'subscribed');
    const n = c.messages.length;
    const one = (await c.next((m) => isRates(m) && c.messages.indexOf(m) >= n)) as unknown as Rates;
    expect(one.pods.map((p) => `${p.namespace}/${p.pod}`)).toEqual([`shop/${shopPod.pod}`]);

    const vlan = shopPod.mode === 'l2' ? shopPod.vlan : -1;
    const onVlan = new Set(
      live.inventory.endpoints.filter((e) => e.mode === 'l2' && e.vlan === vlan).map((e) => e.pod),
    );
    c.ws.send(JSON.stringify({ type: 'subscribe', vlan }));
    await c.next((m) => m.type === 'subscribed' && (m.filter as { vlan?: number }).vlan === vlan);
    const k = c.messages.length;
    const byVlan = (await c.next((m) => isRates(m) && c.messages.indexOf(m) >= k)) as unknown as Rates;
    expect(byVlan.pods.length).toBeGreaterThan(0);
    expect(byVlan.pods.every((p) => onVlan.has(p.pod))).toBe(true);
    c.ws.close();
  });

  it('a bad subscribe is an error message naming the field; the socket stays open', async () => {
    const c = connect(live.url, bearer(TOKENS.admin));
    await c.opened;
    c.ws.send('{not json');
    expect((await c.next((m) => m.type === 'error')).error).toBe('message: not JSON');
    c.ws.send(JSON.stringify({ type: 'subscribe', vni: -1 }));
    expect((await c.next((m) => m.type === 'error' && /vni/.test(String(m.error)))).error).toMatch(/^vni: /);
    c.ws.send(JSON.stringify({ type: 'subscribe', sql: "' OR 1=1" }));
    expect((await c.next((m) => /sql: unknown field/.test(String(m.error)))).type).toBe('error');
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.ws.close();
  });
});

describe('samples', () => {
  it('go to clients that asked; a tenant sees the other side as external, addresses withheld', async () => {
    const admin = connect(`${live.url}?samples=1`, bearer(TOKENS.admin));
    const shop = connect(`${live.url}?samples=true`, bearer(TOKENS.shop));
    const quiet = connect(live.url, bearer(TOKENS.admin));
    await Promise.all([admin.opened, shop.opened, quiet.opened]);
    await Promise.all([admin.next(isRates), shop.next(isRates), quiet.next(isRates)]);
    live.hub.sample(sample({ namespace: 'payments', pod: 'p1' }, { namespace: 'search', pod: 's1' }));
    live.hub.sample(sample({ namespace: 'shop', pod: 'web-a0' }, { namespace: 'payments', pod: 'p1' }));
    const a = await admin.next((m) => m.type === 'sample' && (m.src as { pod: string }).pod === 'web-a0');
    expect(a.dst).toMatchObject({ namespace: 'payments', pod: 'p1' });
    expect(a.dstIp).toBe('10.11.0.12');
    const s = await shop.next((m) => m.type === 'sample');
    expect(s.src).toMatchObject({ namespace: 'shop', pod: 'web-a0' });
    expect(s.dst).toEqual({ namespace: '', pod: '', node: '', tier: '' });
    expect(s.dstIp).toBe('');
    expect(s.dstMac).toBe('');
    // the payments→search sample never reached the tenant; the admin got both
    await new Promise((r) => setTimeout(r, 200));
    expect(shop.messages.filter((m) => m.type === 'sample')).toHaveLength(1);
    expect(admin.messages.filter((m) => m.type === 'sample')).toHaveLength(2);
    expect(quiet.messages.filter((m) => m.type === 'sample')).toHaveLength(0);
    for (const c of [admin, shop, quiet]) c.ws.close();
  });
});

describe('heartbeat and limits', () => {
  it('pings; a client that answers stays, one that does not is terminated', async () => {
    const good = connect(live.url, bearer(TOKENS.admin));
    const dead = connect(live.url, { ...bearer(TOKENS.admin), autoPong: false });
    await Promise.all([good.opened, dead.opened]);
    const hb = await good.next((m) => m.type === 'heartbeat', 3000);
    expect(typeof hb.t).toBe('number');
    const closed = await dead.closed;
    expect(closed.code).toBe(1006); // terminated: no close frame
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    expect(await live.registry.getSingleMetricAsString('podwire_live_closed_total')).toMatch(
      /reason="dead"} [1-9]/,
    );
    good.ws.close();
  });

  it('a message above maxPayload closes the socket (1009)', async () => {
    const c = connect(live.url, bearer(TOKENS.admin));
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'subscribe', pod: 'x'.repeat(5000) }));
    const closed = await c.closed;
    expect(closed.code).toBe(1009);
  });
});
