// broadcast-channel (npm `broadcast-channel`, bundled by lib/build.mjs): `createLeaderElection`
// picks the tab that long-polls (Web Locks in Chromium), its `BroadcastChannel` fans each batch out.
// No shared cursor and no fencing: each tab tracks the highest id it saw, which is the `last` it
// polls from if it becomes leader.
import { BroadcastChannel, createLeaderElection } from 'broadcast-channel';
import { createRelay } from '../longpoll.js';

window.__benchStart = async (host) => {
  const channel = new BroadcastChannel('tabbus-bench');
  const elector = createLeaderElection(channel);
  const { poll, receive } = createRelay(host, (items) => void channel.postMessage(items));
  channel.addEventListener('message', receive);
  host.setRole('follower');
  void elector.awaitLeadership().then(() => {
    host.setRole('leader');
    poll.start();
  });
};
