// version: 'auto' without a dev server: what each combination of answers from /web/webclient/version_info
// and /websocket/health decides.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { detectVersion } from '../detect-version';
import { REQUEST_TIMEOUT } from '../jsonrpc';

/** A fetch that answers the version route with `info` (a result, or an HTTP status) and the health route with `health`. */
function server(info: unknown, health: number | 'down'): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = String(input);
    if (url.endsWith('/websocket/health')) {
      if (health === 'down') throw new TypeError('fetch failed');
      return new Response(health === 200 ? '{"status":"pass"}' : 'Not Found', { status: health });
    }
    if (typeof info === 'number') return new Response('Not Found', { status: info });
    return new Response(JSON.stringify({ jsonrpc: '2.0', id: 1, result: info }), { headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
}
const detect = (info: unknown, health: number | 'down') => detectVersion({ fetch: server(info, health), serverUrl: 'http://odoo.test', credentials: 'same-origin' });

describe('detectVersion', () => {
  it.each([
    [[8, 0, 0, 'final', 0], 404, 8],
    [[15, 0, 0, 'final', 0, ''], 404, 15],
    [[17, 0, 0, 'final', 0, ''], 200, 17],
    [[19, 0, 0, 'final', 0, ''], 200, 19],
    [[20, 0, 0, 'final', 0, ''], 200, 19],
    // Odoo Online (SaaS) releases: `version_info = ('saas~18', 4, 0, FINAL, 0, '')` for saas~18.4.
    [['saas~16', 3, 0, 'final', 0, ''], 200, 16],
    [['saas~18', 4, 0, 'final', 0, ''], 200, 18],
    [['saas~15', 2, 0, 'final', 0, ''], 404, 15],
    [['16', 4, 0, 'final', 0, ''], 200, 16],
  ])('version_info %j (health %i) → %i', async (info, health, version) => {
    expect(await detect({ server_version_info: info }, health)).toBe(version);
  });

  it('without a readable version_info, the health route decides: 200 → 17, 404 → 15', async () => {
    expect(await detect(404, 200)).toBe(17);
    expect(await detect({ server_version_info: ['saas~17.2'] }, 404)).toBe(15);
    expect(await detect({ server_version_info: ['saas~7', 1] }, 404)).toBe(15);
    expect(await detect({ server_version_info: ['saas~', 1] }, 200)).toBe(17);
  });

  it('neither route answering usefully is a network error that says to set `version`', async () => {
    const error = await detect(500, 'down').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'network', message: expect.stringMatching(/set the `version` option/) });
  });

  describe('a route that never answers', () => {
    afterEach(() => void vi.useRealTimers());
    /** Like `server`, but the named route takes the request and never answers (until aborted). */
    const hanging = (route: 'health' | 'version', other: typeof fetch) => {
      const signals: AbortSignal[] = [];
      const hung = ((input: RequestInfo | URL, init: RequestInit = {}) => {
        if (String(input).endsWith(route === 'health' ? '/websocket/health' : '/version_info')) {
          signals.push(init.signal!);
          return new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
        }
        return other(input, init);
      }) as typeof fetch;
      return { fetch: hung, signals };
    };

    it('a version_info answer decides at once, and the hung health request is dropped', async () => {
      const { fetch, signals } = hanging('health', server({ server_version_info: [16, 0] }, 200));
      expect(await detectVersion({ fetch, serverUrl: 'http://odoo.test', credentials: 'same-origin' })).toBe(16);
      expect(signals[0]!.aborted).toBe(true);
    });

    it('a hung version_info gives up after REQUEST_TIMEOUT; the health route decides', async () => {
      vi.useFakeTimers();
      const { fetch } = hanging('version', server(404, 404));
      let version: unknown;
      void detectVersion({ fetch, serverUrl: 'http://odoo.test', credentials: 'same-origin' }).then((v) => (version = v));
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
      expect(version).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(version).toBe(15);
    });

    it('both hung: the network error after REQUEST_TIMEOUT, not a start that never ends', async () => {
      vi.useFakeTimers();
      const never = (() => new Promise(() => undefined)) as typeof fetch;
      const bothHung = hanging('health', hanging('version', never).fetch).fetch;
      const outcome = detectVersion({ fetch: bothHung, serverUrl: 'http://odoo.test', credentials: 'same-origin' }).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
      expect(await outcome).toMatchObject({ code: 'network', context: { versionInfo: 'timeout', health: 'no answer' } });
    });
  });
});
