// tabex (npm `tabex`, loaded from its own dist/tabex.min.js): its localStorage router elects the
// master tab and broadcasts; the master long-polls and emits each batch to the other tabs. Each tab
// tracks the highest id it saw, which is the `last` it polls from if it becomes master.
import { createLongPoll } from '../longpoll.js';

const CHANNEL = 'bench.notification';

window.__benchStart = async (host) => {
  const live = window.tabex.client();
  let last = 0;
  const seen = (items) => {
    for (const item of items) if (item.id > last) last = item.id;
  };
  const poll = createLongPoll({
    channels: () => host.channels,
    last: () => last,
    onResult(items) {
      seen(items);
      live.emit(CHANNEL, items);
      host.deliver(items);
    },
  });
  live.on(CHANNEL, (items) => {
    seen(items);
    host.deliver(items);
  });
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
