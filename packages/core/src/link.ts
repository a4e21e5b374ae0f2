import type { TabBusError } from './errors';
import type { Hub, Part } from './hub';
import { watchSession, type SessionWatch } from './session-watch';
import type { BusItem, Transport, TransportState } from './transport';

/** While nothing arrives, the leader refreshes the stored cursor's timestamp this often, in ms. */
export const CURSOR_TOUCH_INTERVAL = 10_000;

/**
 * With other tabs open, the leader stores the cursor this long after the reply that moved it, in ms: once the
 * batch has reached every tab (see `receive`; alone, at once).
 */
export const CURSOR_WRITE_DELAY = 50;

/** The leader keeps this many of the latest notifications it handed out, to replay them itself. */
export const KEPT_ITEMS = 100;

/** The connection, in the tab that owns it; elsewhere, the copy of the leader's connection state. */
export interface Link extends Part {
  /** The cursor the connection requests from. */
  readonly cursor: number;
  /** The scope's latest passed session check this tab knows of (0: none). */
  readonly checked: number;
  /** This tab now owns the connection (as leader or solo). */
  begin(): void;
  /** This tab no longer owns the connection (or the network went away: `offline`). */
  end(state?: TransportState): void;
  /** The union of channels changed: restart the request, once per burst. */
  unionChanged(): void;
  /** The pause between two requests: 0 while a tab of the scope is visible, `hiddenPace` when none is. */
  pace(): number;
  /** Whether any tab is visible may have changed: a pause ends when one is, and the transport hears of it. */
  paceChanged(): void;
  /** The browser went offline or came back. */
  network(online: boolean): void;
  /** The user is back after `idleFor` ms without input in any tab: the transport, if this tab has one, hears of it. */
  userBack(idleFor: number): void;
}

/**
 * The leader's (or a solo tab's) connection: a transport per term, fed the cursor, the union of
 * channels, the pace and the presence; each reply fanned out, its cursor stored a moment later;
 * replays served to tabs that missed batches; the connection's state relayed. A new term starts from
 * what this tab delivered, not from the stored cursor, which another tab's term may have moved past the
 * last batch that reached this one (a replay costs nothing: each tab drops the ids it has).
 *
 * A replay the leader can serve from the notifications it keeps costs the server nothing: on 16+ a replay
 * from the server takes a fresh socket, and Odoo 17+ marks the user offline for each socket that closes
 * (colleagues see the user flicker); on 8–15 it aborts the held poll. A tab thawed or back from the bfcache
 * asks for one each time.
 */
export function createLink<Item extends BusItem>(hub: Hub<Item>): Link {
  const { env, machine, options } = hub;
  let transport: Transport<Item> | undefined;
  /** The cursor of the next request: the highest id handed to the tabs (lowered by a replay). */
  let cursor = 0;
  /** Leader: copies of the latest notifications it handed out, every one above `keptFrom` (for the current union). */
  let kept: Item[] = [];
  let keptFrom = 0;
  const keepFrom = (from: number) => {
    kept = [];
    keptFrom = from;
  };
  let touchedAt = 0;
  /** The stored cursor's next write, while one waits for its delay. */
  let writeTimer: unknown;
  // `hub.store!` below: every start sets the store before this tab can own the connection, and nothing
  // unsets it; each use comes from begin(), the transport, or a write one of them scheduled.
  /**
   * A newer term exists (this tab was frozen and its lock stolen): its frames may not have arrived yet,
   * but the store says so. From then on, the cursor is that leader's to store.
   */
  const deposed = () => leading() && hub.store!.readEpoch() > hub.term.epoch;
  /** Stores the cursor now, if a write waits: with the time of the reply that moved (or touched) it. */
  const persist = () => {
    if (writeTimer === undefined) return;
    env.clearTimeout(writeTimer);
    writeTimer = undefined;
    if (!deposed()) hub.store!.writeCursor({ id: cursor, at: touchedAt });
  };
  let unionTimer: unknown;
  let lastPace = 0;
  /** When this tab last heard from the server (or began its term): a long silence means a gap. */
  let heardAt = 0;
  /** Follower: the latest server contact the leader told of (in `alive` answers and batches). */
  let newsAt = 0;
  /** Leader: the last probe from a watcher. While they come, every tab hears of the server contact from the answers. */
  let probedAt = -Infinity;
  let session: SessionWatch | undefined;
  /** The scope's latest passed session check this tab knows of: its own as leader, or told of in `alive` frames. */
  let passedAt = 0;
  const leading = () => machine.role === 'leader';
  /** This tab owns the connection: as the leader, or solo (no other tab to share it with). */
  const owns = () => leading() || machine.role === 'solo';
  const gap = (at: number, age: number, reason?: 'reset') => hub.delivery.raiseGap({ cursor: at, age, reason: reason ?? 'retention' });
  /**
   * A time told in a frame: a server contact (`heard`: `alive`, `batch`) or a pass of the session check
   * (`checked`: `alive`, the `welcome` of a tab that just joined), after `known`. Any page of the origin may
   * post on the channel: what is no number counts as none, and a time ahead of now as now (a `heard` far
   * ahead would hide every later gap).
   */
  const told = (known: number, at: unknown) => Math.max(known, Math.min(Number(at) || 0, env.now()));

  const status = (state: TransportState) => {
    if (!machine.transportTo(state)) return;
    if (leading()) hub.post({ type: 'status', transport: state });
    hub.changed();
  };
  /** A sign of life with what a later leader needs: the server contact and the session check's last pass. */
  const alive = () => hub.post({ type: 'alive', cursor, heard: heardAt, checked: passedAt });
  /** `since`: the pass the first check waits an interval from (0: at once; default: the latest this tab heard of or found stored). */
  const startSessionWatch = (since?: number) => {
    const check = options.checkSession;
    // A transport exists only while this tab owns the connection (every way out ends it).
    if (!check || session || !transport) return;
    // The next term (after a failover, or in the next page) goes on from each pass. With other tabs open
    // they hear of it in a frame, so an idle browser writes nothing; a tab alone stores it for the next page.
    const recorded = async () => {
      const at = env.now();
      await check();
      passedAt = at;
      // Passed after this tab gave the connection up (a hand-off while the check was on its way): say
      // nothing, as an `alive` would carry the epoch of the term it follows now and depose that leader.
      if (!owns()) return;
      if (leading() && hub.roster.tabs.size > 1) alive();
      else hub.store!.writeChecked(at);
    };
    // An expired session stops every tab, even found after this term ended, unless the bus stopped or
    // started again since (then the check asked of a cookie that may have changed).
    const started = hub.startedAt;
    const expired = (error: TabBusError) => void (machine.role !== 'stopped' && hub.startedAt === started && hub.halt(error));
    session = watchSession(env, recorded, options.sessionCheckInterval ?? 300_000, expired, since ?? Math.max(passedAt, hub.store!.readChecked()));
  };
  /** A server reply: fan out, then deliver here; the cursor is stored a moment later. */
  const receive = (items: readonly Item[]) => {
    const now = env.now();
    // Storing this reply's cursor could skip what the new leader has not fanned out: drop it; the new
    // leader polls from the shared cursor.
    if (deposed()) return hub.term.stepDown('newer term');
    if (now - heardAt > hub.retention) gap(cursor, now - heardAt);
    heardAt = now;
    session?.replied();
    const after = cursor;
    // Above the cursor, or below it and never delivered here: Odoo 17+ sends an id whose transaction
    // committed late after higher ones (a replay, by contrast, brings ids this tab has).
    const fresh = items.filter((item) => item.id > after || hub.delivery.unseen(item.id));
    for (const item of fresh) if (item.id > cursor) cursor = item.id;
    if (fresh.length && leading()) {
      hub.post({ type: 'batch', items: fresh, cursor, after });
      // Copies, taken before this tab's listeners get the items: an application may change them (Odoo 17's
      // mail store does, with values no channel can clone), and a replay must be what the server sent.
      // Without structuredClone (old browsers) nothing is kept: replays go to the server.
      try {
        kept.push(...fresh.map((item) => structuredClone(item)));
      } catch {
        keptFrom = Infinity;
      }
      // The oldest go; what is kept is still every notification above the highest id that went.
      for (const item of kept.splice(0, kept.length - KEPT_ITEMS)) keptFrom = Math.max(keptFrom, item.id);
    }
    // Touched while idle, so a later leader can tell a gap from a quiet spell; not while a watcher
    // probes (every tab hears of the server contact from the answers, and idle writes cost).
    if (cursor !== after || (now - touchedAt >= CURSOR_TOUCH_INTERVAL && now - probedAt > CURSOR_TOUCH_INTERVAL)) {
      touchedAt = now;
      // Written a moment after the fan-out (one write for a burst of replies), and at once when this tab
      // gives the connection up: every other renderer of the origin is told of each storage write, a task
      // that competed with the batch's own in each of them (measured: the fan-out's tail at 20 tabs).
      writeTimer ??= env.setTimeout(persist, CURSOR_WRITE_DELAY);
      // Alone, no tab of ours competes with the write, and a crash within the delay would cost the next page
      // this reply again: stored now.
      if (hub.roster.tabs.size < 2) persist();
    }
    if (!fresh.length) return;
    hub.delivery.deliver(fresh);
    hub.changed();
  };
  const open = () => {
    if (env.page?.online() === false) return status('offline'); // requests would only fail: wait for `online`
    const t = (transport = options.transport());
    const current = () => transport === t;
    t.open({
      cursor: () => cursor,
      channels: hub.roster.tabs.union,
      inactivity: () => hub.activity?.inactivity(),
      pace: () => link.pace(),
      receive: (items) => current() && receive(items),
      reset: () => {
        if (!current()) return;
        gap(cursor, 0, 'reset');
        cursor = 0;
        keepFrom(0);
        // Stored at once: a tab starting now must see that the ids started over (its own would hide the new).
        hub.store!.writeCursor({ id: 0, at: env.now() });
      },
      status: (state) => current() && status(state),
      request: () => {
        if (!current()) return;
        hub.counters.requests++;
        hub.changed();
      },
      fail: (error) => {
        if (!current()) return;
        if (error.fatal) return hub.halt(error);
        hub.report(error);
        session?.afterError();
      },
    });
  };

  const link: Link = {
    get cursor() {
      return cursor;
    },
    get checked() {
      return passedAt;
    },
    begin() {
      const now = env.now();
      cursor = hub.delivery.watermark;
      keepFrom(cursor);
      touchedAt = 0;
      // What this tab knew was the previous leader's connection; ours starts now.
      machine.transportTo('idle', true);
      const record = leading() && hub.store!.readCursor();
      const age = record ? now - Math.max(record.at, newsAt) : 0;
      if (record && record.id > 0 && age > hub.retention) gap(record.id, age);
      heardAt = now;
      // The connection first (the failover gap is the time to this request), then the session check.
      open();
      startSessionWatch();
    },
    end(state = 'idle') {
      const t = transport;
      transport = undefined;
      // The next page (a reload) starts from the stored cursor: what this tab handed out is in it.
      persist();
      // Online again, the next transport goes on from the cursor (no new term): what it brings is kept from there.
      keepFrom(cursor);
      env.clearTimeout(unionTimer);
      session?.stop();
      session = undefined;
      t?.close();
      machine.transportTo(state, true);
    },
    unionChanged() {
      // Without a transport nothing is kept. What is kept, and what comes until the request that asks for a
      // channel just added goes out, lacks its notifications: replays from before that request go to the server.
      if (!transport) return;
      keepFrom(Infinity);
      env.clearTimeout(unionTimer);
      unionTimer = env.setTimeout(() => {
        keepFrom(cursor);
        transport?.refresh();
      }, options.unionDelay ?? 20);
    },
    pace() {
      const visible = machine.role === 'solo' ? hub.visible() : hub.roster.tabs.visibleCount > 0;
      return visible ? 0 : (options.hiddenPace ?? 30_000);
    },
    paceChanged() {
      const pace = link.pace();
      const wasPaused = lastPace > 0;
      lastPace = pace;
      if (wasPaused && !pace) transport?.refresh();
      if (wasPaused !== pace > 0) transport?.paceChanged?.();
    },
    userBack: (idleFor) => void transport?.userBack?.(idleFor),
    network(online) {
      if (!owns()) return;
      if (!online && transport) {
        // Drop the connection rather than back off against a dead network.
        link.end('offline');
        if (leading()) hub.post({ type: 'status', transport: 'offline' });
      } else if (online && !transport) {
        const silence = env.now() - heardAt;
        if (silence > hub.retention) {
          // Offline longer than the server keeps notifications: say so now rather than at the next reply.
          gap(cursor, silence);
          heardAt = env.now();
        }
        open();
        // Back online: the session may have expired meanwhile, so at once.
        startSessionWatch(0);
      }
      hub.changed();
    },
    frames: {
      resync: (frame) => {
        const from = frame.cursor;
        if (!leading() || !Number.isSafeInteger(from) || from < 0 || from > cursor) return;
        // In the order they came; the tabs that have them drop them (not pseudo-notifications, ids ≤ 0, which every
        // tab takes each time). Every id committed late (one that came after a higher one, or below where keeping
        // began) too: below the asking tab's watermark, it is missing there if it came after that tab left.
        // It is no news from the server: `heard` says when this tab last had some (a later leader's gap check).
        let top = keptFrom;
        if (from >= keptFrom) return hub.post({ type: 'batch', items: kept.filter(({ id }) => id > 0 && (id < (top = Math.max(top, id)) || id > from)), cursor, after: from, heard: heardAt });
        // At the cursor (a tab back from the bfcache asks for what came late): nothing the server would send.
        if (from === cursor) return;
        cursor = from;
        keepFrom(from);
        transport?.refresh();
      },
      probe: () => {
        if (!leading()) return;
        probedAt = env.now();
        alive();
      },
      alive: (frame) => {
        newsAt = told(newsAt, frame.heard);
        passedAt = told(passedAt, frame.checked);
      },
      batch: (frame) => void (newsAt = told(newsAt, frame.heard ?? Infinity)),
      // A new term's connection is on its way, in the state the leader tells (older builds: none, so connecting).
      lead: (frame) => void machine.transportTo(frame.transport ?? 'connecting', true),
      welcome: (frame) => {
        machine.transportTo(frame.transport, true);
        // A tab that joins after the leader's last `alive` learns the pass here, or it would check at once
        // should it lead before the next one.
        passedAt = told(passedAt, frame.checked);
      },
      status: (frame) => void machine.transportTo(frame.transport, true),
    },
  };
  return link;
}
