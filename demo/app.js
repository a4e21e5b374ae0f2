// The demo chat, shared by the script-tag page (index.html), the page on the script tag of one transport
// family (series.html) and the ESM page (esm.html): each passes in the tabbus API it loaded, so every build
// runs the same code. Served by @tabbus/dev-server.

import { showBrowser } from './picture.js';

const $ = (selector) => document.querySelector(selector);
const params = new URLSearchParams(location.search);

async function jsonRpc(route, params = {}) {
  const response = await fetch(route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params, id: Date.now() }),
  });
  const body = await response.json();
  if (body.error) throw Object.assign(new Error(body.error.data?.message || body.error.message), { rpc: body.error });
  return body.result;
}

/**
 * Logs in as `login` on `db` unless this browser's session already is that user there (tabs share the
 * cookie). Through tabbus's `authenticate`, so the tabs of another user stop before their next request.
 */
async function ensureSession(api, db, login, password) {
  try {
    const info = await jsonRpc('/web/session/get_session_info');
    if (info.username === login && info.db === db) return info;
  } catch {
    // Not logged in yet.
  }
  await api.authenticate({ db, login, password });
  return jsonRpc('/web/session/get_session_info');
}

const textOf = (item) => {
  const body = 'payload' in item ? item.payload : item.message;
  return typeof body === 'object' && body !== null ? String(body.text ?? JSON.stringify(body)) : String(body);
};
const channelOf = (item) => ('channel' in item ? item.channel : item.type);

/** The page body, the same for both builds; `other` links to the page of the other build. */
const SHELL = `
  <h1>tabbus demo chat</h1>
  <p class="sub">Open this page in several tabs: one tab holds the connection (a long-poll, or a socket on Odoo 16+), every tab gets each message once.
    Build: <b id="build"></b> · <a id="other"></a> · signed in as <span id="user">…</span>
    <button type="button" id="logout" class="secondary">log out</button></p>
  <section id="picture"></section>
  <div class="grid">
    <section id="state" data-role="stopped">
      <p><span id="role" class="badge">…</span></p>
      <dl>
        <dt>this tab</dt><dd id="tab"></dd>
        <dt>leader</dt><dd id="leader"></dd>
        <dt>epoch</dt><dd id="epoch"></dd>
        <dt>tabs</dt><dd id="tabs"></dd>
        <dt>cursor</dt><dd id="cursor"></dd>
        <dt>transport</dt><dd id="transport"></dd>
        <dt>requests</dt><dd id="requests" title="requests sent by this tab"></dd>
        <dt>mode</dt><dd id="mode"></dd>
        <dt>pace</dt><dd id="pace" title="pause between polls: 0 while a tab is visible"></dd>
        <dt>inactivity</dt><dd id="inactivity" title="since the latest input in any tab"></dd>
        <dt>presence</dt><dd id="presence" title="what the server says (Odoo 12–15 im_status)">—</dd>
        <dt>unread</dt><dd><span id="unread">0</span> <button type="button" id="mark-read" class="secondary">mark read</button></dd>
        <dt>desktop</dt><dd><button type="button" id="desktop" class="secondary">allow notifications</button></dd>
        <dt>channels</dt><dd id="channels"></dd>
        <dt>union</dt><dd id="union" title="what the leader polls"></dd>
      </dl>
      <div id="jobs"><p><b>Background jobs</b> <button type="button" id="start-jobs" class="secondary">start 3 jobs</button></p><ul id="job-list"></ul></div>
      <form id="join"><input id="channel" class="small" placeholder="channel"><button>join</button><button type="button" id="leave" class="secondary">leave</button></form>
      <p id="error" role="alert"></p>
    </section>
    <section>
      <form id="send"><input id="target" class="small" aria-label="channel"><input id="text" placeholder="Say something" autocomplete="off"><button>send</button></form>
      <ul id="messages"></ul>
    </section>
  </div>
`;

export async function runDemo(api, buildName, other) {
  document.body.innerHTML = SHELL;
  $('#build').textContent = buildName;
  $('#other').href = other.href;
  $('#other').textContent = other.label;
  const server = await (await fetch('/tabbus/stats')).json();
  const login = params.get('login') ?? 'admin';
  // ?db=… logs in to another database of the server (it may serve several, like Odoo without a dbfilter).
  const db = params.get('db') ?? server.db;
  const session = await ensureSession(api, db, login, params.get('password') ?? login);
  const firstChannel = params.get('channel') ?? 'chat';

  // Timings can be shortened from the URL (the e2e tests do): ?backoff=ms&leaderTimeout=ms&sessionCheck=ms
  const ms = (name) => (params.has(name) ? Number(params.get(name)) : undefined);
  const tuning = {
    ...(params.has('backoff') ? { backoff: { initial: ms('backoff'), max: ms('backoff') * 4 } } : {}),
    ...(params.has('leaderTimeout') ? { leaderTimeout: ms('leaderTimeout') } : {}),
    ...(params.has('sessionCheck') ? { sessionCheckInterval: ms('sessionCheck') } : {}),
    ...(params.has('hiddenPace') ? { hiddenPace: ms('hiddenPace') } : {}),
    ...(params.has('hiddenSocketClose') ? { hiddenSocketClose: ms('hiddenSocketClose') } : {}),
    // ?coordination=none: every tab connects for itself, as Odoo 8 did and Odoo 16+'s Worker fallback does.
    ...(params.get('coordination') === 'none' ? { coordination: 'none' } : {}),
    // ?workerVersion=… plays a page built for another Odoo release (the server answers `outdated`).
    ...(params.has('workerVersion') ? { websocketWorkerVersion: params.get('workerVersion') } : {}),
  };
  // ?version=auto lets the bus find out which Odoo answers; by default the demo says what the server emulates.
  const version = params.get('version') === 'auto' ? 'auto' : server.odoo;
  const bus = api.createOdooBus({ version, db, uid: session.uid, channels: [firstChannel], ...tuning });
  // For the e2e tests: what this tab delivered, when each id arrived, and when it last became leader.
  const received = [];
  const arrivals = {};
  // gaps and session expiries as the bus reported them; leaders: the leader each epoch had, as this tab saw it.
  window.demo = { bus, received, arrivals, leaderSince: null, session, version: server.odoo, gaps: [], expired: [], outdated: [], leaders: {}, effects: [], sounded: [], jobUpdates: [], jobsDone: [] };
  // Logging out through tabbus stops every tab of the user at once, not after their next session check.
  window.demo.logout = () => api.logout();
  $('#logout').addEventListener('click', () => void api.logout());

  // One beep and one desktop notification per message for the whole browser, from a tab that may play
  // sound (browsers allow it only in tabs the user interacted with).
  const effects = window.TabBusEffects?.createEffects(bus);
  window.demo.sound = effects;
  const log = $('#messages');
  // Background jobs: progress bars in every tab; one sound in the whole browser when a job ends.
  const jobs = window.TabBusJobs?.watchJobs(bus, { uid: session.uid });
  window.demo.jobs = jobs;
  jobs?.on((update) => {
    window.demo.jobUpdates.push(update);
    renderJob(update);
    if (update.state === 'done' || update.state === 'failed') {
      void bus.once(`job-ended:${update.uuid}`, () => window.demo.jobsDone.push(update.uuid));
      void effects?.beep(`job:${update.uuid}`);
    }
  });
  const renderJob = (update) => {
    let li = document.getElementById(`job-${update.uuid}`);
    if (!li) {
      li = document.createElement('li');
      li.id = `job-${update.uuid}`;
      li.innerHTML = '<span class="name"></span> <progress max="100"></progress> <span class="state"></span>';
      $('#job-list').append(li);
    }
    li.querySelector('.name').textContent = update.name;
    li.querySelector('progress').value = update.progress;
    li.querySelector('.state').textContent = update.state;
  };
  $('#start-jobs')?.addEventListener('click', async () => {
    for (let i = 1; i <= 3; i++) {
      await fetch('/tabbus/jobs', { method: 'POST', body: JSON.stringify({ name: `job ${i}`, steps: 10, stepMs: 500 * i }) });
    }
  });
  const isJobUpdate = (item) => ('type' in item ? item.type : item.message?.type) === 'tabbus.job/update';

  bus.on('notification', (items) => {
    const now = Date.now();
    // The leader counts (it sees every message first, and its own count is always current); a message
    // that arrives while some tab is visible has been seen. One snapshot per batch: state() builds a copy.
    const { role, visibleTabs } = bus.state();
    const counts = (role === 'leader' || role === 'solo') && visibleTabs === 0;
    for (const item of items) {
      // Job updates have their own display (above), not a chat line and a beep each.
      if (isJobUpdate(item)) continue;
      received.push(item);
      arrivals[item.id] = now;
      const li = document.createElement('li');
      li.innerHTML = '<span class="id"></span> <span class="ch"></span> <span class="text"></span>';
      li.querySelector('.id').textContent = `#${item.id}`;
      li.querySelector('.ch').textContent = String(channelOf(item));
      li.querySelector('.text').textContent = textOf(item);
      const from = ('payload' in item ? item.payload : item.message)?.tab;
      if (from) li.title = `sent from tab ${from}${from === bus.tabId ? ' (this tab)' : ''}`;
      log.prepend(li);
      while (log.children.length > 200) log.lastChild.remove();
      // One effect per message for the whole browser (a sound, a desktop notification), whichever tab gets there first.
      void bus.once(`message:${item.id}`, () => window.demo.effects.push(item.id));
      void effects?.beep(item.id).then((result) => result === 'played' && window.demo.sounded.push(item.id));
      void effects?.notify(item.id, `tabbus demo: ${channelOf(item)}`, { body: textOf(item) });
      if (counts) unread.set((unread.get() ?? 0) + 1);
    }
  });
  bus.on('error', (error) => {
    $('#error').textContent = `${error.code}: ${error.message}`;
    console.warn(error);
  });
  bus.on('gap', (gap) => {
    window.demo.gaps.push(gap);
    $('#error').textContent =
      gap.reason === 'reset' ? 'the server restarted its notification ids: reload to be safe' : `gap: notifications after #${gap.cursor} may be lost; reload`;
  });
  bus.on('session_expired', (error) => {
    window.demo.expired.push(error.message);
    $('#error').textContent = 'Your session expired. ';
    const button = document.createElement('button');
    button.id = 'relogin';
    button.textContent = 'log in again';
    button.addEventListener('click', async () => {
      await ensureSession(api, db, login, params.get('password') ?? login);
      $('#error').textContent = '';
      await bus.start();
    });
    $('#error').append(button);
  });

  bus.on('outdated', (error) => {
    window.demo.outdated.push(error.message);
    $('#error').textContent = 'The server was upgraded: reload this page.';
  });

  let lastRole = null;
  const render = (s) => {
    // When it took over (the role machine's time: the first request may already be out by the state event).
    if (s.role === 'leader' && lastRole !== 'leader') window.demo.leaderSince = s.transition?.at ?? Date.now();
    lastRole = s.role;
    if (s.leaderId) (window.demo.leaders[s.epoch] ??= new Set()).add(s.leaderId);
    const el = $('#state');
    el.dataset.role = s.role;
    el.dataset.epoch = String(s.epoch);
    el.dataset.leader = s.leaderId ?? '';
    $('#role').textContent = s.role;
    $('#role').className = `badge ${s.role}`;
    $('#tab').textContent = s.tabId;
    $('#leader').textContent = s.leaderId ?? '—';
    $('#epoch').textContent = s.epoch;
    $('#tabs').textContent = `${s.tabs} (${s.visibleTabs} visible)`;
    $('#cursor').textContent = s.cursor;
    $('#transport').textContent = s.transportName ? `${s.transportName}: ${s.transport}` : s.transport;
    $('#requests').textContent = s.counters.requests;
    $('#mode').textContent = `${s.mode} — ${s.modeReason}`;
    $('#pace').textContent = s.pace ? `${s.pace / 1000} s (every tab hidden)` : 'live';
    $('#inactivity').textContent = `${Math.round(s.inactivity / 1000)} s`;
    $('#channels').textContent = s.channels.join(', ') || '—';
    $('#union').textContent = s.union.join(', ') || '—';
    renderTitle();
  };
  // The unread count is one value for the whole browser: the leader counts, reading in any tab clears it
  // everywhere.
  const unread = bus.shared('unread');
  const renderTitle = () => {
    const count = unread.get() ?? 0;
    $('#unread').textContent = String(count);
    document.title = `${count ? `(${count}) ` : ''}${bus.state().role === 'leader' ? '★ ' : ''}tabbus demo`;
  };
  unread.on(renderTitle);
  const markRead = () => (unread.get() ?? 0) > 0 && unread.set(0);
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && markRead());
  $('#mark-read')?.addEventListener('click', markRead);
  $('#desktop')?.addEventListener('click', async () => ($('#desktop').textContent = await window.TabBusEffects?.requestDesktopPermission()));
  // Presence as the server sees it, refreshed while this tab is visible (a hidden tab runs no timer).
  const showPresence = async () => {
    if (document.visibilityState !== 'visible' || server.odoo < 12 || !session.partner_id) return;
    try {
      // 12–15 answer im_status on a route of their own; from 16 the dev server's presence table stands in.
      const status =
        server.odoo <= 15
          ? (await jsonRpc('/longpolling/im_status', { partner_ids: [session.partner_id] }))[0]?.im_status
          : (await (await fetch('/tabbus/presence')).json()).find((row) => row.uid === session.uid)?.status;
      $('#presence').textContent = status ?? '—';
    } catch {
      $('#presence').textContent = '—';
    }
  };
  let presenceTimer;
  const presenceLoop = () => {
    clearTimeout(presenceTimer);
    void showPresence().finally(() => {
      if (document.visibilityState === 'visible') presenceTimer = setTimeout(presenceLoop, 10_000);
    });
  };
  document.addEventListener('visibilitychange', () => (document.visibilityState === 'visible' ? presenceLoop() : clearTimeout(presenceTimer)));
  presenceLoop();
  bus.on('state', render);
  render(bus.state());
  // The picture: every tab of this browser, the server's connections for it, the leadership timeline.
  window.demo.picture = showBrowser(bus, $('#picture'), { odoo: server.odoo });

  $('#user').textContent = `${session.name ?? login} (uid ${session.uid}, ${db}, Odoo ${server.odoo})`;
  $('#send').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('#text').value.trim();
    if (!text) return;
    const channel = $('#target').value.trim() || firstChannel;
    const body = server.odoo >= 15 ? { channel, type: 'demo/message', payload: { text, tab: bus.tabId } } : { channel, message: { text, tab: bus.tabId } };
    await fetch('/tabbus/send', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    $('#text').value = '';
  });
  $('#join').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('#channel').value.trim();
    if (name) bus.addChannel(name);
  });
  $('#leave').addEventListener('click', () => {
    const name = $('#channel').value.trim();
    if (name) bus.deleteChannel(name);
  });
  $('#target').value = firstChannel;
  document.body.dataset.ready = 'true';
}
