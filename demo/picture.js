// The demo's picture of the browser: every tab of the scope as this tab's bus knows it (the leader
// highlighted, visible or hidden, its channels), the connections the server holds for this browser right
// now (GET /tabbus/stats), and a timeline of leadership changes with each failover's gap. Everything is
// drawn from bus.state(), so what a tab shows is what its bus believes.

const SHELL = `
  <div class="picture-head">
    <h2>This browser</h2>
    <p id="scope-line" class="sub"></p>
    <button type="button" id="handoff" class="secondary" title="bus.handoff(): the leader gives the connection to the next tab in line">hand off</button>
  </div>
  <ol id="tabmap" aria-label="tabs of this browser"></ol>
  <p id="server-connections" class="server" data-count="">The server: …</p>
  <h3>Leadership timeline <small>(newest first, as this tab saw it)</small></h3>
  <ol id="timeline"></ol>
`;

const short = (id) => (id ? id.slice(0, 8) : '—');
const clock = (at) => new Date(at).toLocaleTimeString([], { hour12: false }) + '.' + String(at % 1000).padStart(3, '0');
const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

/**
 * Fills `root` and keeps it current. `odoo` is the version the server emulates (which connection it
 * counts: held long-polls up to 15, sockets from 16). Returns the timeline, for the e2e tests.
 */
export function showBrowser(bus, root, { odoo }) {
  root.innerHTML = SHELL;
  const timeline = [];
  const $ = (selector) => root.querySelector(selector);

  // Who led last, and since when this tab has known that leader gone (the start of a failover's gap).
  let known = { epoch: 0, leaderId: null };
  let goneAt = null;
  let pending = null; // a new term whose connection is not open yet
  let lastTransition = null;

  const record = (entry) => {
    timeline.unshift(entry);
    if (timeline.length > 30) timeline.pop();
    const li = el('li', `event ${entry.kind}`);
    li.dataset.kind = entry.kind;
    li.dataset.epoch = String(entry.epoch);
    if (entry.gap !== undefined) li.dataset.gap = String(entry.gap);
    li.append(el('time', '', clock(entry.at)), ' ', el('b', '', entry.title), entry.detail ? ` ${entry.detail}` : '');
    $('#timeline').prepend(li);
    while ($('#timeline').children.length > 30) $('#timeline').lastChild.remove();
  };

  const follow = (s) => {
    const now = Date.now();
    // This tab's own role changes, straight from the bus.
    if (s.transition && s.transition !== lastTransition) {
      lastTransition = s.transition;
      record({ kind: 'role', at: s.transition.at, epoch: s.epoch, title: `this tab: ${s.transition.from} → ${s.transition.to}`, detail: `(${s.transition.reason})` });
    }
    // Listed again (a tab that just joined may know the leader before its list does): not gone after all.
    const listed = s.tabList.some((t) => t.id === known.leaderId);
    if (listed) goneAt = null;
    else if (known.leaderId && known.leaderId !== s.tabId && goneAt === null) goneAt = now;
    if (s.leaderId && s.epoch > known.epoch) {
      pending = { epoch: s.epoch, leaderId: s.leaderId, previous: known.leaderId, first: known.epoch === 0, since: goneAt ?? now };
      known = { epoch: s.epoch, leaderId: s.leaderId };
      goneAt = null;
    }
    if (pending && s.epoch === pending.epoch && s.transport === 'open') {
      const { epoch, leaderId, previous, first, since } = pending;
      pending = null;
      const opened = { epoch, leaderId, previous, at: now, gap: now - since };
      if (previous === null) record({ kind: first && s.role !== 'leader' ? 'joined' : 'elected', at: now, epoch, title: `${first && s.role !== 'leader' ? 'joined' : 'elected'}: ${who(opened, s)} leads epoch ${epoch}` });
      else if (previous === leaderId) record({ kind: 'renewed', at: now, epoch, title: `renewed: ${who(opened, s)} leads epoch ${epoch}` });
      else {
        // A failover or a hand-off? The previous leader gone from the map: a failover. Still there: wait a
        // little, since a crashed leader is dropped by the new one after it has opened its connection.
        if (judging) judge(!s.tabList.some((t) => t.id === judging.previous));
        judging = { ...opened, tabId: s.tabId, timer: setTimeout(() => judge(false), HANDOFF_AFTER) };
      }
    }
    if (judging && !s.tabList.some((t) => t.id === judging.previous)) judge(true);
  };

  // The previous leader still open this long after the new connection opened: it gave the connection away.
  const HANDOFF_AFTER = 1500;
  let judging = null;
  const who = ({ leaderId }, { tabId }) => `tab ${short(leaderId)}${leaderId === tabId ? ' (this tab)' : ''}`;
  const judge = (gone) => {
    const { epoch, previous, at, gap, timer } = judging;
    const name = who(judging, judging);
    clearTimeout(timer);
    judging = null;
    if (gone) record({ kind: 'failover', at, epoch, gap, title: `failover: ${name} leads epoch ${epoch}`, detail: `— tab ${short(previous)} is gone; ${gap} ms without a connection` });
    // (A hidden leader yielding to a visible tab is a hand-off too.)
    else record({ kind: 'handoff', at, epoch, gap, title: `handoff: ${name} leads epoch ${epoch}`, detail: `— tab ${short(previous)} gave it up; ${gap} ms` });
  };

  let drawn = '';
  const render = (s) => {
    follow(s);
    // State events come with every batch; redraw only when what is drawn changed.
    const key = JSON.stringify([s.tabList, s.leaderId, s.epoch, s.role, s.mode, s.transportName, s.transport, s.tabId]);
    if (key === drawn) return;
    drawn = key;
    const leader = s.tabList.find((t) => t.id === s.leaderId);
    $('#scope-line').textContent =
      `${s.tabList.length} tab${s.tabList.length === 1 ? '' : 's'} · epoch ${s.epoch} · leader ${short(s.leaderId)}` +
      ` · ${s.mode} · ${s.transportName ? `${s.transportName}: ` : ''}${s.transport}`;
    $('#scope-line').dataset.epoch = String(s.epoch);
    const handoff = $('#handoff');
    handoff.disabled = s.role !== 'leader' || s.tabList.length < 2;
    handoff.title = handoff.disabled ? 'only the leader can hand off, to another tab' : 'bus.handoff(): give the connection to the next tab in line';
    const map = $('#tabmap');
    map.replaceChildren();
    map.dataset.leader = leader ? leader.id : '';
    for (const tab of [...s.tabList].sort((a, b) => a.id.localeCompare(b.id))) {
      const role = tab.id === s.leaderId ? (s.role === 'solo' ? 'solo' : 'leader') : 'follower';
      const li = el('li', `tab ${role}${tab.visible ? '' : ' hidden'}${tab.id === s.tabId ? ' self' : ''}`);
      Object.assign(li.dataset, { tab: tab.id, role, visible: String(tab.visible), channels: tab.channels.join(',') });
      li.append(
        el('span', 'tab-role', role === 'leader' ? `★ leader · epoch ${s.epoch}` : role),
        el('code', 'tab-id', short(tab.id) + (tab.id === s.tabId ? ' · this tab' : '')),
        el('span', 'tab-visibility', tab.visible ? '● visible' : '○ hidden'),
        el('span', 'tab-channels', tab.channels.join(', ') || 'no channel'),
      );
      if (role === 'leader') li.title = `holds the connection (${s.transportName ?? 'transport'}: ${s.transport})`;
      map.append(li);
    }
  };

  // The server's side: how many connections it holds for this browser's session right now. Asked every 3 s
  // while this tab is visible (a hidden tab runs no timer), and not at each change of leader: every tab
  // asking at the moment the new leader opens its connection would compete with it for the browser's few
  // connections to the server. Never while the browser is offline, where the request could only fail.
  let statsTimer;
  let inFlight;
  const showServer = async () => {
    if (!navigator.onLine) return;
    inFlight?.abort();
    const controller = (inFlight = new AbortController());
    const node = $('#server-connections');
    try {
      const stats = await (await fetch('/tabbus/stats', { cache: 'no-store', signal: controller.signal })).json();
      const bySession = odoo >= 16 ? stats.openSocketsBySession : stats.openPollsBySession;
      const count = stats.session ? (bySession[stats.session] ?? 0) : 0;
      const kind = odoo >= 16 ? 'WebSocket' : 'held long-poll';
      node.dataset.count = String(count);
      node.textContent = `The server holds ${count} ${kind}${count === 1 ? '' : 's'} for this browser right now (${odoo >= 16 ? stats.openSockets : stats.openPolls} for all browsers).`;
      node.classList.toggle('more-than-one', count > 1);
    } catch {
      if (!controller.signal.aborted) node.textContent = 'The server: not reachable.';
    }
  };
  const statsLoop = () => {
    clearTimeout(statsTimer);
    void showServer().finally(() => {
      if (document.visibilityState === 'visible' && navigator.onLine) statsTimer = setTimeout(statsLoop, 3000);
    });
  };
  const pauseStats = () => {
    clearTimeout(statsTimer);
    inFlight?.abort();
  };
  document.addEventListener('visibilitychange', () => (document.visibilityState === 'visible' ? statsLoop() : pauseStats()));
  window.addEventListener('offline', pauseStats);
  window.addEventListener('online', () => document.visibilityState === 'visible' && statsLoop());

  $('#handoff').addEventListener('click', () => bus.handoff());
  bus.on('state', render);
  render(bus.state());
  statsLoop();
  return { timeline };
}
