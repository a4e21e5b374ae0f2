// broadcast-channel (npm `broadcast-channel`, bundled by lib/build.mjs): `createLeaderElection`
// picks the tab that long-polls (Web Locks in Chromium), its `BroadcastChannel` fans each batch out.
// No shared cursor and no fencing: each tab tracks the highest id it saw, which is the `last` it
// polls from if it becomes leader.
import { BroadcastChannel, createLeaderElection } from 'broadcast-channel';
import { createLongPoll } from '../longpoll.js';

window.__benchStart = async (host) => {
  const channel = new BroadcastChannel('tabbus-bench');
  const elector = createLeaderElection(channel);
  let last = 0;
  const seen = (items) => {
    for (const item of items) if (item.id > last) last = item.id;
  };
  const poll = createLongPoll({
    channels: () => host.channels,
    last: () => last,
    onResult(items) {
      seen(items);
      void channel.postMessage(items);
      host.deliver(items);
    },
  });
  channel.addEventListener('message', (items) => {
    seen(items);
    host.deliver(items);
  });
  host.setRole('follower');
  void elector.awaitLeadership().then(() => {
    host.setRole('leader');
    poll.start();
  });
};
