/**
 * Flow window lengths, in process: the CLI's --window and the config's flows.windowSeconds
 * accept whole seconds that nest in the minute and hour rollups, up to 30 minutes, and
 * refuse anything else with a usage error naming the limit (the CLI's exit code is tested
 * in usage.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseAllConfig } from '../../cli/all-config.js';
import { parseWindow, UserError } from '../../cli/errors.js';
import { windowProblem } from '../../collector/flows/flow-table.js';

describe('flow window lengths', () => {
  it('accepts whole seconds dividing a minute, and whole minutes dividing an hour up to 30', () => {
    for (const ok of [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800]) {
      expect(windowProblem(ok), String(ok)).toBeNull();
    }
    expect(parseWindow('10s')).toBe(10);
    expect(parseWindow('0.5m')).toBe(30);
    expect(parseWindow('30m')).toBe(1800);
  });

  it.each([
    ['500ms', /--window: 500ms is not a whole number of seconds/],
    ['1.5', /--window: 1.5 is not a whole number of seconds/],
    ['31m', /--window: 31m is longer than the longest window, 30m \(1800 s\)/],
    ['1h', /--window: 1h is longer than the longest window/],
    ['7s', /--window: 7s does not divide a minute/],
    ['16s', /--window: 16s does not divide a minute/],
    ['7m', /--window: 7m does not divide an hour/],
    ['90s', /--window: 90s is not a whole number of minutes/],
  ])('refuses --window %s as a usage error naming the limit', (text, message) => {
    expect(() => parseWindow(text)).toThrow(UserError);
    expect(() => parseWindow(text)).toThrow(message);
  });

  it.each([
    [1.5, /flows\.windowSeconds: 1.5 is not a whole number of seconds/],
    [0.5, /flows\.windowSeconds: 0.5 is not a whole number of seconds/],
    [1860, /flows\.windowSeconds: 1860 is longer than the longest window, 30m \(1800 s\)/],
    [45, /flows\.windowSeconds: 45 does not divide a minute/],
  ])('refuses flows.windowSeconds %s in the config', (windowSeconds, message) => {
    expect(() => parseAllConfig({ flows: { windowSeconds } })).toThrow(message);
  });
});

describe('store.retention in the service config', () => {
  it('takes 1 to 3660 days and refuses more, naming the field (the TTL would pass 2106)', () => {
    expect(parseAllConfig({ store: { retention: { flows: 3660 } } }).store.retention.flows).toBe(3660);
    expect(() => parseAllConfig({ store: { retention: { flows: 36500 } } })).toThrow(
      /store\.retention\.flows/,
    );
    expect(() => parseAllConfig({ store: { retention: { flows: 0 } } })).toThrow(/store\.retention\.flows/);
  });
});
