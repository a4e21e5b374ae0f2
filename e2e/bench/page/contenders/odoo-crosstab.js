// Baseline: Odoo 9–15's CrossTabBus, written for this bench from the project's protocol notes
// (ODOO-BUS-PROTOCOL.md §3–§6), not from Odoo's code. One master tab, elected over localStorage
// heartbeats, long-polls and writes each batch to one localStorage key; the other tabs read it from
// the `storage` event. The Odoo 15 flavour: keys `bus.<origin>.<key>`, a shared `last` (+ `last_ts`,
// forgotten after 50 s), a per-tab channel map whose sorted union the master polls. Kept in
// e2e/bench/, never shipped.
import { createLongPoll } from '../longpoll.js';

const TAB_HEARTBEAT_PERIOD = 10_000;
const MASTER_TAB_HEARTBEAT_PERIOD = 1_500;
const HEARTBEAT_OUT_OF_DATE_PERIOD = 5_000;
const HEARTBEAT_KILL_OLD_PERIOD = 15_000;
const LAST_TS_FRESHNESS = 50_000;

window.__benchStart = async (host) => {
  // Odoo 12+: `bus.` + the origin with ":" and up to two slashes replaced by "_".
  const prefix = `bus.${location.origin.replace(/:\/{0,2}/g, '_')}.`;
  const get = (key, fallback) => {
    const raw = localStorage.getItem(prefix + key);
    return raw === null ? fallback : JSON.parse(raw);
  };
  const set = (key, value) => localStorage.setItem(prefix + key, JSON.stringify(value));
  const remove = (key) => localStorage.removeItem(prefix + key);

  // Odoo 9's id shape (time + random); insertion order in `peers` is the election order.
  const id = `${Date.now()}:${Math.floor(Math.random() * 1e9)}`;
  let isMaster = false;
  let lastHeartbeat = 0;
  let timer = 0;
  let union = [];

  // A fresh `last` is shared; a stale one is dropped (the next poll catches up from 0).
  if (get('last_ts', 0) + LAST_TS_FRESHNESS < Date.now()) remove('last');
  let last = get('last', 0);

  const poll = createLongPoll({
    channels: () => union,
    last: () => last,
    onResult(items) {
      // The master forwards only ids above the shared `last` (10+), then writes the batch for the others.
      const fresh = items.filter((item) => item.id > last);
      if (fresh.length === 0) return;
      last = Math.max(...fresh.map((item) => item.id));
      set('last', last);
      set('last_ts', Date.now());
      set('notification', fresh);
      host.deliver(fresh);
    },
  });

  /** The sorted union of the channels of the tabs still in `peers` (and this one). */
  function updateUnion() {
    const map = get('channels', {});
    const peers = get('peers', {});
    const all = new Set();
    for (const [tab, channels] of Object.entries(map)) if (tab === id || tab in peers) for (const c of channels) all.add(c);
    const next = [...all].sort();
    const changed = next.join() !== union.join();
    union = next;
    return changed;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(heartbeat, isMaster ? MASTER_TAB_HEARTBEAT_PERIOD : TAB_HEARTBEAT_PERIOD);
  }

  function becomeMaster(peers, now) {
    lastHeartbeat = now;
    set('heartbeat', now);
    set('master', true);
    isMaster = true;
    delete peers[id];
    set('peers', peers);
    host.setRole('leader');
    poll.start();
    // The master beats every 1.5 s from now on, whichever way it got elected (a storage event too).
    schedule();
  }

  function startElection() {
    if (isMaster) return;
    const now = Date.now();
    const peers = get('peers', {});
    // The first live peer in insertion order wins; only the winner acts.
    const winner = Object.keys(peers).find((peer) => peers[peer] + HEARTBEAT_KILL_OLD_PERIOD >= now);
    if (winner === id) becomeMaster(peers, now);
  }

  function heartbeat() {
    const now = Date.now();
    let beat = get('heartbeat', 0);
    if (beat + HEARTBEAT_OUT_OF_DATE_PERIOD < now) {
      startElection();
      beat = get('heartbeat', 0);
    }
    const peers = get('peers', {});
    if (isMaster) {
      if (beat !== lastHeartbeat) {
        // Another tab wrote the heartbeat: it believes it is master too. Step down.
        isMaster = false;
        lastHeartbeat = 0;
        peers[id] = now;
        set('peers', peers);
        poll.stop();
        host.setRole('follower');
      } else {
        const alive = {};
        for (const [peer, seen] of Object.entries(peers)) if (seen + HEARTBEAT_KILL_OLD_PERIOD > now) alive[peer] = seen;
        lastHeartbeat = now;
        set('heartbeat', now);
        set('peers', alive);
      }
    } else {
      peers[id] = now;
      set('peers', peers);
    }
    schedule();
  }

  window.addEventListener('storage', (event) => {
    if (!event.key?.startsWith(prefix)) return;
    const key = event.key.slice(prefix.length);
    if (key === 'notification' && !isMaster && event.newValue) host.deliver(JSON.parse(event.newValue));
    else if (key === 'last' && event.newValue) last = JSON.parse(event.newValue);
    else if (key === 'master' && event.newValue === null) startElection();
    else if (key === 'channels' && updateUnion() && isMaster) poll.restart();
  });

  // Odoo's CrossTabBus leaves on `unload`: out of `peers` and the channel map; a master also
  // removes `master`, which makes the others elect at once.
  window.addEventListener('unload', () => {
    const peers = get('peers', {});
    delete peers[id];
    set('peers', peers);
    const map = get('channels', {});
    delete map[id];
    set('channels', map);
    if (isMaster) remove('master');
  });

  const peers = get('peers', {});
  peers[id] = Date.now();
  set('peers', peers);
  const map = get('channels', {});
  map[id] = [...host.channels].sort();
  set('channels', map);
  updateUnion();
  host.setRole('follower');
  heartbeat();
};
