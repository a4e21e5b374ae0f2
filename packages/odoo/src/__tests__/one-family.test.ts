// createOdooWebsocketBus and createOdooLongpollingBus (and the script tags of one transport family built on
// them, the addon's): a bus for a version of their family, a config error that names the full build for
// anything else, before any request.
import { describe, expect, it } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { FakeBrowser } from '@tabbus/core/testing';
import { createOdooLongpollingBus, createOdooWebsocketBus } from '../one-family';
import type { OdooVersion } from '../versions';
import { FakeFetch } from './helpers';

const builds = { websocket: createOdooWebsocketBus, longpolling: createOdooLongpollingBus };
type Family = keyof typeof builds;

describe('one-family builds', () => {
  it.each<[Family, OdooVersion]>([
    ['websocket', 16],
    ['websocket', 19],
    ['longpolling', 8],
    ['longpolling', 14],
    ['longpolling', 15],
  ])('the %s build makes a bus for Odoo %i, on its own transport', async (family, version) => {
    const fetch = new FakeFetch();
    const bus = builds[family]({ version, uid: 2, db: 'main', start: false, fetch: fetch.fetch, env: new FakeBrowser().tab().env() });
    expect(bus.state().transportName).toBe(family);
    expect(typeof bus.sendPresence).toBe('function');
    await bus.stop();
  });

  it.each<[Family, unknown]>([
    ['websocket', 15],
    ['websocket', 8],
    ['websocket', 'auto'],
    ['websocket', undefined],
    ['longpolling', 16],
    ['longpolling', 19],
    ['longpolling', 'auto'],
    ['longpolling', undefined],
  ])('the %s build refuses version %j with a config error naming the full build', (family, version) => {
    const fetch = new FakeFetch();
    let error: unknown;
    try {
      builds[family]({ version: version as OdooVersion, uid: 2, db: 'main', fetch: fetch.fetch, env: new FakeBrowser().tab().env() });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'config', context: { version, build: family } });
    expect((error as Error).message).toContain('createOdooBus (tabbus.global.min.js)');
    expect(fetch.calls).toEqual([]);
  });

  it('checks the version as createOdooBus does first: an unknown one is its error', () => {
    expect(() => builds.websocket({ version: 20 as never })).toThrow(/version must be 'auto' or one of/);
  });
});
