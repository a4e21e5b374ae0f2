import type { CDPSession } from '@playwright/test';
import { expect, receivedIds, settledLeader, test } from '../support/fixtures';

// Bytes on the wire per notification, measured in the leader with the DevTools protocol: for long-polling
// every poll's request (headers and body) and response (headers and body, as received); for the WebSocket
// every frame's payload plus its frame header (2–4 bytes down, 6–8 up with the client's mask). Reported,
// not asserted beyond sanity: the point is the ratio between the two projects' runs.

interface Wire {
  bytes: number;
  messages: number;
}

async function meter(cdp: CDPSession): Promise<Wire> {
  const wire: Wire = { bytes: 0, messages: 0 };
  const polls = new Set<string>();
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', (e) => {
    if (!e.request.url.endsWith('/longpolling/poll')) return;
    polls.add(e.requestId);
    wire.messages++;
    wire.bytes += (e.request.postData?.length ?? 0) + e.request.url.length;
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    if (!polls.has(e.requestId)) return;
    for (const [name, value] of Object.entries(e.headers)) wire.bytes += name.length + String(value).length + 4;
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (polls.has(e.requestId)) wire.bytes += e.encodedDataLength;
  });
  const frameHeader = (length: number, masked: boolean) => (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);
  cdp.on('Network.webSocketFrameReceived', (e) => {
    wire.messages++;
    wire.bytes += e.response.payloadData.length + frameHeader(e.response.payloadData.length, false);
  });
  cdp.on('Network.webSocketFrameSent', (e) => {
    wire.messages++;
    wire.bytes += e.response.payloadData.length + frameHeader(e.response.payloadData.length, true);
  });
  return wire;
}

test('bytes on the wire per notification, one at a time, 5 tabs (reported)', async ({ context, openTabs, publish, server }) => {
  const pages = await openTabs(5);
  const leader = await settledLeader(pages);
  const cdp = await context.newCDPSession(leader);
  const wire = await meter(cdp);
  const count = 30;
  let last = 0;
  for (let i = 0; i < count; i++) {
    last = await publish('chat', `notification number ${i}, a short chat line`);
    // One at a time: each is its own reply (or frame), the way chat traffic arrives.
    await expect.poll(() => receivedIds(leader)).toContain(last);
  }
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(last);
  await new Promise((r) => setTimeout(r, 200));
  const perNotification = Math.round(wire.bytes / count);
  const report = `Odoo ${server.odoo} (${server.odoo >= 16 ? 'websocket' : 'longpolling'}): ${perNotification} bytes on the wire per notification (${wire.bytes} bytes in ${wire.messages} messages for ${count} notifications, 5 tabs, one connection)`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  expect(wire.messages).toBeGreaterThanOrEqual(count);
  expect(perNotification).toBeGreaterThan(50);
  expect(perNotification).toBeLessThan(5000);
});
