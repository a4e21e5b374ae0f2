// The addon's login-page script (addon/static/session_news.js) is plain JS written apart from the SDK, for
// pages that load no tabbus bundle. Run in a VM with a stand-in page, what it posts must be news the SDK's
// `hearSessions` takes, on the channel it listens to.
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { hearSessions, type SessionNews } from '../sessions';

const SCRIPT = readFileSync(new URL('../../addon/static/session_news.js', import.meta.url), 'utf8');
const ORIGIN = 'http://odoo.test';

/** A tab's sessionStorage (it outlives the tab's pages); `throws` plays storage that is denied. */
function tabStorage(throws = false) {
  const items = new Map<string, string>();
  const deny = () => {
    if (throws) throw new Error('SecurityError');
  };
  return {
    items,
    getItem: (key: string) => (deny(), items.get(key) ?? null),
    setItem: (key: string, value: string) => (deny(), void items.set(key, value)),
    removeItem: (key: string) => (deny(), void items.delete(key)),
  };
}

/** Runs the script on a stand-in page (the login form, with an error or not); returns what it posted and a way to submit the form. */
function loginPage(options: { error: boolean; storage?: ReturnType<typeof tabStorage> }) {
  const posted: { channel: string; data: unknown }[] = [];
  const listeners: ((event: { target: unknown }) => void)[] = [];
  const form = { matches: (selector: string) => selector === 'form.oe_login_form' };
  const window: Record<string, unknown> = {};
  runInNewContext(SCRIPT, {
    window,
    location: { origin: ORIGIN },
    sessionStorage: options.storage ?? tabStorage(),
    BroadcastChannel: class {
      readonly #name: string;
      constructor(name: string) {
        this.#name = name;
      }
      postMessage(data: unknown) {
        posted.push({ channel: this.#name, data });
      }
      close() {}
    },
    document: {
      readyState: 'complete',
      addEventListener: (type: string, listener: (event: { target: unknown }) => void) => type === 'submit' && listeners.push(listener),
      querySelector: (selector: string) => (options.error && selector === 'form.oe_login_form .alert-danger' ? {} : null),
    },
  });
  return { posted, submit: () => listeners.forEach((listener) => listener({ target: form })), tell: window.tabbusSessionNews as (news: unknown) => void };
}

/** What the SDK's ear on ORIGIN makes of each posted message. */
function heard(posted: { channel: string; data: unknown }[]) {
  const channels = new Map<string, (data: unknown) => void>();
  const news: SessionNews[] = [];
  const env = {
    now: () => 0,
    setTimeout: () => 0,
    clearTimeout: () => undefined,
    openChannel: (name: string) => ({ kind: 'test', post: () => undefined, listen: (listener: (data: unknown) => void) => void channels.set(name, listener), close: () => undefined }),
  };
  const ear = hearSessions(ORIGIN, env, (n) => news.push(n));
  for (const { channel, data } of posted) channels.get(channel)?.(data);
  return { news, pending: ear.pending };
}

describe("the addon's session news script", () => {
  it('a login form submitted: the SDK hears a pending login on its channel', () => {
    const page = loginPage({ error: false });
    expect(page.posted).toEqual([]);
    page.submit();
    expect(heard(page.posted)).toEqual({ news: [{ kind: 'login', state: 'pending' }], pending: true });
  });

  it('the login page shown again with an error: the SDK hears that the login failed', () => {
    const page = loginPage({ error: true });
    expect(heard(page.posted)).toEqual({ news: [{ kind: 'login', state: 'failed' }], pending: false });
  });

  it('the page the submitted form led to, in the same tab: the login is over (how it went, the server tells), said once', () => {
    const storage = tabStorage();
    loginPage({ error: false, storage }).submit();
    const next = loginPage({ error: false, storage });
    expect(heard(next.posted)).toEqual({ news: [{ kind: 'login', state: 'over' }], pending: false });
    expect(storage.items.size).toBe(0);
    expect(loginPage({ error: false, storage }).posted).toEqual([]);
  });

  it('the form shown again with an error after a submit: failed, said once', () => {
    const storage = tabStorage();
    loginPage({ error: false, storage }).submit();
    expect(heard(loginPage({ error: true, storage }).posted).news).toEqual([{ kind: 'login', state: 'failed' }]);
    expect(storage.items.size).toBe(0);
  });

  it('a page of another tab (its own sessionStorage) says nothing of this tab\'s login', () => {
    loginPage({ error: false, storage: tabStorage() }).submit();
    expect(loginPage({ error: false, storage: tabStorage() }).posted).toEqual([]);
  });

  it('sessionStorage that throws: the submit still says pending, and no page breaks', () => {
    const storage = tabStorage(true);
    const page = loginPage({ error: false, storage });
    page.submit();
    expect(heard(page.posted).news).toEqual([{ kind: 'login', state: 'pending' }]);
    expect(loginPage({ error: false, storage }).posted).toEqual([]);
  });

  it("the Log out hook's news (window.tabbusSessionNews) reaches the SDK as a logout", () => {
    const page = loginPage({ error: false });
    page.tell({ kind: 'logout' });
    expect(heard(page.posted).news).toEqual([{ kind: 'logout' }]);
  });
});
