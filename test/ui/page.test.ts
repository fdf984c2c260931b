/**
 * The page in a real browser against the all-in-one on the demo (embedded chDB): it loads
 * with no login when no token is configured, its live chart gains points as the stream
 * runs, a trace of a demo pod's MAC finds that pod; with tokens, a tenant's login sees only
 * its namespaces. Screenshots go to test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../api/access.js';
import { ensureBuilt, ROOT, tempDir } from '../cli/helpers.js';
import { openBrowser, screenshot } from './browser.js';
import { startService } from './service.js';

/** The id of the focused element (runs in the page, which this file's types do not describe). */
const activeId = () =>
  (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement
    ?.id ?? '';

type Service = Awaited<ReturnType<typeof startService>>;
let tmp: { dir: string; remove: () => Promise<void> };
let browser: Awaited<ReturnType<typeof openBrowser>>;

beforeAll(async () => {
  await ensureBuilt();
  execFileSync(process.execPath, ['scripts/build-ui.mjs'], { cwd: ROOT, stdio: 'ignore' });
  tmp = await tempDir('podwire-ui-');
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
  await tmp?.remove();
});

interface Pod {
  namespace: string;
  pod: string;
  interfaces: { mac: string; vf: unknown }[];
}

describe('on the demo, no tokens (what npm start runs)', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await startService(`${tmp.dir}`);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('loads, and the live chart moves', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(svc.url);
    await page.waitForSelector('#pods table');
    const points = async () => Number(await page.getAttribute('#chart', 'data-points'));
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(1);
    const before = await points();
    await page.waitForTimeout(3000);
    expect(await points()).toBeGreaterThan(before);
    // every pod row has its numbers; the nodes' use is shown to the admin
    expect(await page.locator('#nodes tbody tr').count()).toBe(3);
    expect(await page.locator('#pods tbody tr').count()).toBeGreaterThan(10);
    expect(await page.locator('#whoami').textContent()).toMatch(/admin/);
    await screenshot(page, 'live');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a trace of a demo pod’s MAC shows that pod; the URL holds the query', async () => {
    const pods = (await (await fetch(`${svc.url}/api/v1/pods`)).json()) as { pods: Pod[] };
    const target = pods.pods.find((p) => p.interfaces.some((i) => i.vf !== null))!;
    const mac = target.interfaces.find((i) => i.vf !== null)!.mac;
    const page = await browser.context.newPage();
    await page.goto(`${svc.url}/?view=trace`);
    await page.fill('#trace-q', mac.toUpperCase());
    await page.keyboard.press('Enter');
    await page.waitForSelector('#trace table');
    const cells = await page.locator('#trace table').first().locator('tbody td').allTextContents();
    expect(cells).toContain(target.pod);
    expect(cells).toContain(target.namespace);
    expect(new URL(page.url()).searchParams.get('q')).toBe(mac.toUpperCase());
    await screenshot(page, 'trace');
    // the shared URL gives the same answer
    const again = await browser.context.newPage();
    await again.goto(page.url());
    await again.waitForSelector('#trace table');
    expect(await again.locator('#trace table').first().locator('tbody td').allTextContents()).toContain(
      target.pod,
    );
    await again.close();
    await page.close();
  });

  it('the other views load without an error, their controls reachable by keyboard', async () => {
    const page = await browser.context.newPage();
    for (const view of ['top', 'alerts']) {
      await page.goto(`${svc.url}/?view=${view}`);
      await expect
        .poll(() => page.locator('main').textContent(), { timeout: 20_000 })
        .not.toContain('loading…');
      expect(await page.locator('main .error').count()).toBe(0);
      await screenshot(page, view);
    }
    await page.goto(`${svc.url}/?view=top&by=namespace&range=15m`);
    await expect
      .poll(() => page.locator('main').textContent(), { timeout: 20_000 })
      .not.toContain('loading…');
    // Tab reaches the view's select from the navigation
    const focused: string[] = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(activeId));
    }
    expect(focused).toContain('by');
    expect(focused).toContain('range');
    await page.close();
  });
});

describe('with tokens', () => {
  const SHOP = 'shop-tenant-token-0123456789';
  const ADMIN = 'admin-token-0123456789abcdef';
  let svc: Service;
  beforeAll(async () => {
    svc = await startService(`${tmp.dir}/tokens`, {
      api: {
        tokens: [
          { name: 'ops', sha256: hashToken(ADMIN), role: 'admin' },
          { name: 'shop-team', sha256: hashToken(SHOP), role: 'tenant', namespaces: ['shop'] },
        ],
      },
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('asks for a login; a tenant then sees only its namespace', async () => {
    const ctx = browser.context;
    await ctx.clearCookies();
    const page = await ctx.newPage();
    await page.goto(svc.url);
    await page.waitForSelector('#login');
    await screenshot(page, 'login');
    await page.fill('#token', 'wrong-token-0123456789');
    await page.click('#login button');
    await expect.poll(() => page.locator('#login .error').textContent()).toMatch(/not a valid token/);
    await page.fill('#token', SHOP);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#pods table');
    expect(await page.locator('#whoami').textContent()).toMatch(/shop-team.*namespaces shop/);
    const namespaces = await page.locator('#pods tbody tr td:first-child').allTextContents();
    expect(namespaces.length).toBeGreaterThan(3);
    expect(new Set(namespaces)).toEqual(new Set(['shop']));
    expect(await page.locator('#nodes').textContent()).toMatch(/admins only/);
    // the token is in no URL and no script-readable cookie
    expect(page.url()).not.toContain(SHOP);
    // (the cookie is HttpOnly: the browser holds it, no script can read it)
    const cookies = await browser.context.cookies(svc.url);
    expect(cookies.find((c) => c.name === 'podwire_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    await screenshot(page, 'tenant-live');
    // a trace of another tenant's MAC finds nothing for this tenant
    const all = (await (
      await fetch(`${svc.url}/api/v1/pods`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as { pods: Pod[] };
    const other = all.pods.find((p) => p.namespace !== 'shop' && p.interfaces.some((i) => i.vf !== null))!;
    await page.goto(`${svc.url}/?view=trace&q=${other.interfaces.find((i) => i.vf !== null)!.mac}`);
    await page.waitForSelector('#trace h2');
    expect(await page.locator('#trace').textContent()).toMatch(/no pod held it then/);
    expect(await page.locator('#trace').textContent()).not.toContain(other.pod);
    await page.click('#logout');
    await page.waitForSelector('#login');
    await page.close();
  });
});
