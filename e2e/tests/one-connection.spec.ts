import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

// The point of tabbus: however many tabs, the server holds one long-poll (or one socket) for the browser.
for (const tabs of [1, 5, 10]) {
  test(`${tabs} tab(s) hold exactly one connection`, async ({ openTabs, server, publish }) => {
    await server.resetStats();
    const pages = await openTabs(tabs);
    await settledLeader(pages);
    // Let polls cycle a few times (each notification ends a poll and starts the next).
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await publish('chat', `ping ${i}`));
    for (const page of pages) await expect.poll(() => receivedIds(page)).toEqual(expect.arrayContaining(ids));
    const connections = await server.connections();
    expect(connections.peakPerSession).toBe(1);
    // The leader's next poll may be a moment away from the last reply on a loaded machine: wait for it.
    await expect.poll(async () => (await server.connections()).open).toBe(1);
    const roles = await Promise.all(pages.map(async (p) => (await state(p)).role));
    expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
    expect(roles.filter((r) => r === 'follower')).toHaveLength(tabs - 1);
    // What the user sees: exactly one page shows the leader badge.
    const badges = await Promise.all(pages.map((p) => p.locator('#role').textContent()));
    expect(badges.filter((b) => b === 'leader')).toHaveLength(1);
    // Only the leader sent polls.
    const requests = await Promise.all(pages.map(async (p) => (await state(p)).counters.requests));
    expect(requests.filter((n) => n > 0)).toHaveLength(1);
  });
}
