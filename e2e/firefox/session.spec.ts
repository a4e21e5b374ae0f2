import { expect, settledLeader, test, type FirefoxTab } from './fixtures';

const expired = (tab: FirefoxTab) => tab.evaluate(() => (window as unknown as { demo: { expired: string[] } }).demo.expired);

async function everyTabStopped(pages: FirefoxTab[]): Promise<void> {
  for (const tab of pages) {
    await expect.poll(async () => (await tab.state()).role).toBe('stopped');
    expect(await expired(tab), 'session_expired once per tab').toHaveLength(1);
  }
}

test('logout in one tab: every tab gets one session_expired and stops; logging in again resumes from the cursor', async ({ tabs, server, publish }) => {
  const pages = await tabs.open(3);
  const leader = await settledLeader(pages);
  const follower = pages.find((tab) => tab !== leader)!;
  await follower.evaluate(async () => {
    await fetch('/web/session/destroy', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"jsonrpc":"2.0","method":"call","params":{}}' });
    (window as unknown as { demo: { bus: { sessionExpired(): void } } }).demo.bus.sessionExpired();
  });
  await everyTabStopped(pages);
  await expect.poll(async () => (await server.connections()).open).toBe(0);
  const whileOut = await publish('chat', 'while logged out');
  for (const tab of pages) await tab.page.click('#relogin');
  await settledLeader(pages);
  for (const tab of pages) await expect.poll(() => tab.receivedIds()).toContain(whileOut);
});

test("a session expired on the server is found by the leader's periodic check; every tab stops once", async ({ tabs, server }) => {
  const pages = await tabs.open(3, { query: '?sessionCheck=500' });
  await settledLeader(pages);
  expect(await server.expire()).toBeGreaterThan(0);
  await everyTabStopped(pages);
});
