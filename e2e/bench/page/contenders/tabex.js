// tabex (npm `tabex`, loaded from its own dist/tabex.min.js): its localStorage router elects the
// master tab and broadcasts; the master long-polls and emits each batch to the other tabs. Each tab
// tracks the highest id it saw, which is the `last` it polls from if it becomes master.
import { createRelay } from '../longpoll.js';

const CHANNEL = 'bench.notification';

window.__benchStart = async (host) => {
  const live = window.tabex.client();
  const { poll, receive } = createRelay(host, (items) => live.emit(CHANNEL, items));
  live.on(CHANNEL, receive);
  // tabex says who the master is on every change (and once at start, in each tab).
  let leading = false;
  live.on('!sys.master', (data) => {
    const master = data.node_id === data.master_id;
    if (master === leading) return;
    leading = master;
    host.setRole(master ? 'leader' : 'follower');
    if (master) poll.start();
    else poll.stop();
  });
  host.setRole('follower');
};
