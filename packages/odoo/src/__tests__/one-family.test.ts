// createOdooWebsocketBus and createOdooLongpollingBus (and the script tags of one transport family built on
// them, the addon's): a bus for a version of their family, a config error that names the full build for
// anything else, before any request.
import { describe, expect, it } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { FakeBrowser } from '@tabbus/core/testing';
import type { OdooBus, OdooBusOptions } from '../create-odoo-bus';
import { createOdooLongpollingBus, createOdooWebsocketBus, type OdooLongpollingBusOptions, type OdooWebsocketBusOptions } from '../one-family';
import type { OdooVersion } from '../versions';
import { eventually, FakeFetch, onCleanup } from './helpers';

// Called with any options, as a page's JavaScript may: the types keep TypeScript callers within the family.
const builds: Record<'websocket' | 'longpolling', (options: OdooBusOptions) => OdooBus> = {
  websocket: (options) => createOdooWebsocketBus(options as OdooWebsocketBusOptions),
  longpolling: (options) => createOdooLongpollingBus(options as OdooLongpollingBusOptions),
};
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

  it.each<[Family, OdooVersion]>([
    ['websocket', 17],
    ['longpolling', 15],
  ])('the %s build, started for Odoo %i, connects on its own transport', async (family, version) => {
    const fetch = new FakeFetch();
    const sockets: string[] = [];
    // Records the URL and stays connecting: enough to see which transport the bus made.
    class RecordingSocket {
      onopen: unknown;
      onmessage: unknown;
      onclose: unknown;
      onerror: unknown;
      readyState = 0;
      constructor(url: string) {
        sockets.push(url);
      }
      send(): void {}
      close(): void {}
    }
    const bus = builds[family]({ version, uid: false, serverUrl: 'https://odoo.test', coordination: 'none', fetch: fetch.fetch, WebSocket: RecordingSocket as unknown as typeof WebSocket, env: new FakeBrowser().tab().env() });
    onCleanup(() => bus.stop());
    await eventually(() => sockets.length + fetch.calls.length).toBeGreaterThan(0);
    if (family === 'websocket') {
      expect(sockets[0]).toMatch(/^wss:\/\/odoo\.test\/websocket/);
      expect(fetch.calls.map((c) => c.url)).not.toContain('https://odoo.test/longpolling/poll');
    } else {
      expect(fetch.calls[0]?.url).toBe('https://odoo.test/longpolling/poll');
      expect(sockets).toEqual([]);
    }
  });

  it.each<[Family, unknown]>([
    ['websocket', 15],
    ['websocket', 8],
    ['websocket', 'auto'],
    ['websocket', undefined],
    ['longpolling', 16],
    ['longpolling', 19],
    ['longpolling', 'auto'],
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
    // It names the bus that speaks the version, and the full one.
    const other = family === 'websocket' ? 'createOdooLongpollingBus (tabbus.longpolling.global.min.js) is for Odoo 8–15' : 'createOdooWebsocketBus (tabbus.websocket.global.min.js) is for Odoo 16+';
    expect((error as Error).message).toContain(other);
    expect((error as Error).message).toContain('createOdooBus (tabbus.global.min.js) for any version');
    expect(fetch.calls).toEqual([]);
  });

  it('the long-polling one defaults to Odoo 15, as createOdooBus does; the WebSocket one has no default', async () => {
    const env = new FakeBrowser().tab().env();
    const bus = createOdooLongpollingBus({ uid: 2, db: 'main', start: false, fetch: new FakeFetch().fetch, env });
    expect(bus.state().transportName).toBe('longpolling');
    await bus.stop();
    expect(() => builds.websocket({ uid: 2, db: 'main', start: false, env })).toThrow(/Odoo 16\+ only \(version: none given\)/);
  });

  it('checks the version as createOdooBus does first: an unknown one is its error', () => {
    expect(() => builds.websocket({ version: 20 as never })).toThrow(/version must be 'auto' or an integer from 8 to 19/);
  });
});
