// One browser, several users (issue 16), on the WebSocket (Odoo 17) as Odoo finds a session gone: only at
// the socket's next message or dispatch (`--ws-session-check on-frame`), not at once. A socket that drops
// in between (the hourly 4002, a network blip) and reconnects carries the browser's new cookie, and the
// server subscribes it to the new user's partner channel.
import { DevServer } from '../support/dev-server';
import { openOn, test } from '../support/fixtures';
import { describeLogin, expectLoginContained, loginInNewTab } from '../support/users';

test.use({ odoo: 17 });

test("a fourth tab logs in as demo and the old leader's socket drops (4002) before the server noticed: its reconnect must not subscribe as demo", async ({ context }, testInfo) => {
  const server = await DevServer.start(['--odoo', '17', '--ws-session-check', 'on-frame']);
  try {
    const admin = await openOn(server, context, 3);
    const report = await loginInNewTab({
      server,
      context,
      oldTabs: admin,
      newTabQuery: '?login=demo',
      partner: 7,
      // Nothing is sent on admin's channels, so nothing makes the server look admin's session up again.
      chatStream: false,
      afterLogin: () => server.closeSockets(4002),
    });
    console.log(describeLogin(`users [${testInfo.project.name}, Odoo 17, on-frame session check] login as demo, then 4002`, report));
    expectLoginContained(report);
  } finally {
    for (const page of context.pages()) await page.close();
    await server.stop();
  }
});
