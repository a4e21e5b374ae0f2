// The smallest page a user would write with a bundler: log in to the (dev) Odoo, start a bus, show what
// arrives. scripts/check-consumer.mjs bundles it with rollup from the npm-installed packages.
import { createOdooBus } from '@tabbus/odoo';

async function rpc(route, params) {
  const response = await fetch(route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params, id: 1 }),
  });
  return (await response.json()).result;
}

const session = await rpc('/web/session/authenticate', { db: 'tabbus', login: 'admin', password: 'admin' });
const bus = createOdooBus({ version: 15, db: 'tabbus', uid: session.uid, channels: ['consumer'] });
bus.on('notification', (items) => {
  for (const item of items) {
    const li = document.createElement('li');
    li.textContent = item.payload.text;
    document.querySelector('#log').append(li);
  }
});
bus.on('state', (state) => {
  document.body.dataset.role = state.role;
  document.body.dataset.transport = state.transport;
});
