import type { TabInfo } from './tabs';
import type { BusItem, TransportState } from './transport';

/** Version of the frames tabs exchange. A tab ignores (and reports) frames of another version. */
export const FRAME_VERSION = 1;

/** What every frame carries. */
export interface FrameBase {
  /** Frame protocol version. */
  readonly v: typeof FRAME_VERSION;
  /** The scope (server + database + user) the frame belongs to. */
  readonly scope: string;
  /** The sender's leadership epoch (its own when it leads, the newest it knows otherwise). */
  readonly epoch: number;
  /** The sender's tab id. */
  readonly from: string;
}

/** A tab says who it is and what it wants; `join` asks the leader for a `welcome`. */
export interface HelloFrame extends FrameBase {
  /** Always `hello`. */
  readonly type: 'hello';
  /** The sender's channels and visibility. */
  readonly tab: TabInfo;
  /** The sender is new (or lost track): the leader answers with a `welcome`. */
  readonly join?: boolean;
}
/** A tab is gone: sent by the tab as it leaves, or by the leader when the tab's lifetime lock frees. */
export interface ByeFrame extends FrameBase {
  /** Always `bye`. */
  readonly type: 'bye';
  /** The id of the tab that is gone. */
  readonly tab: string;
}
/** A new leadership term begins, with the leader's own info; every tab answers with a `hello`. */
export interface LeadFrame extends FrameBase {
  /** Always `lead`. */
  readonly type: 'lead';
  /** Where the new term starts from. */
  readonly cursor: number;
  /** The leader's own entry. */
  readonly tab: TabInfo;
  /** The connection's state as the term is announced: its first request is already on its way (absent from older builds: `connecting`). */
  readonly transport?: TransportState;
}
/** The leader's answer to a joining tab: the tabs it knows and the connection's state. */
export interface WelcomeFrame extends FrameBase {
  /** Always `welcome`. */
  readonly type: 'welcome';
  /** The joining tab (no other tab reads it). */
  readonly to: string;
  /** Every tab the leader knows. */
  readonly tabs: readonly TabInfo[];
  /** The leader's connection state. */
  readonly transport: TransportState;
  /** The leader's cursor: a tab below it missed batches. */
  readonly cursor: number;
  /** The scope's latest passed session check the leader knows of (0: none), which a later term goes on from. */
  readonly checked?: number;
}
/** Notifications from the server, in id order, fanned out by the leader. */
export interface BatchFrame<Item extends BusItem = BusItem> extends FrameBase {
  /** Always `batch`. */
  readonly type: 'batch';
  /** The notifications. */
  readonly items: readonly Item[];
  /** The cursor after these items. */
  readonly cursor: number;
  /** The cursor the items follow: a tab whose watermark is below it missed a batch. */
  readonly after: number;
  /** A replay served from what the leader kept: when it last heard from the server (absent: now). */
  readonly heard?: number;
}
/** A tab missed batches (its watermark is below a batch's `after`): the leader polls again from `cursor`. */
export interface ResyncFrame extends FrameBase {
  /** Always `resync`. */
  readonly type: 'resync';
  /** The asking tab's watermark. */
  readonly cursor: number;
}
/** The leader's connection changed state. */
export interface StatusFrame extends FrameBase {
  /** Always `status`. */
  readonly type: 'status';
  /** The new state. */
  readonly transport: TransportState;
}
/**
 * Notifications may have been lost: the cursor outlived the server's retention, or the server's ids
 * restarted below it (`reset`: every tab must forget the ids it delivered).
 */
export interface GapFrame extends FrameBase {
  /** Always `gap`. */
  readonly type: 'gap';
  /** The cursor when it was noticed. */
  readonly cursor: number;
  /** How long the server had not been heard, in ms. */
  readonly age: number;
  /** Why (see GapEvent). */
  readonly reason: 'retention' | 'reset';
}
/** The watcher asks the leader for a sign of life (the leader may be frozen). */
export interface ProbeFrame extends FrameBase {
  /** Always `probe`. */
  readonly type: 'probe';
}
/** A visible follower asks a hidden leader for the connection. */
export interface ClaimFrame extends FrameBase {
  /** Always `claim`. */
  readonly type: 'claim';
}
/** The leader closed its connection for `to`, which takes the lock over and resumes from the cursor. */
export interface YieldFrame extends FrameBase {
  /** Always `yield`. */
  readonly type: 'yield';
  /** The tab that takes over. */
  readonly to: string;
  /** The leader's cursor. */
  readonly cursor: number;
}
/** A tab saw user input at `at` (ms since epoch); sent at most every few seconds per tab. */
export interface ActivityFrame extends FrameBase {
  /** Always `activity`. */
  readonly type: 'activity';
  /** When the input happened. */
  readonly at: number;
}
/** `once(key)` ran in the sending tab. */
export interface OnceFrame extends FrameBase {
  /** Always `once`. */
  readonly type: 'once';
  /** The key. */
  readonly key: string;
}
/** A shared value changed (last writer wins by `at`, then by tab id). */
export interface SharedFrame extends FrameBase {
  /** Always `shared`. */
  readonly type: 'shared';
  /** The value's key. */
  readonly key: string;
  /** The new value. */
  readonly value: unknown;
  /** When it was set (ms since epoch). */
  readonly at: number;
}
/** The leader's answer to a probe. */
export interface AliveFrame extends FrameBase {
  /** Always `alive`. */
  readonly type: 'alive';
  /** The leader's cursor: a tab behind it missed batches. */
  readonly cursor: number;
  /**
   * When the leader last heard from the server: a later leader tells a gap from a quiet spell by it
   * (absent from tabbus before 0.2).
   */
  readonly heard?: number;
  /**
   * When the leader's session check last passed (ms since epoch): a later leader checks an interval after
   * it rather than at once (0 while none has; absent from older builds).
   */
  readonly checked?: number;
}
/** A fatal error (from the leader's connection, or a tab told that the session expired): every tab stops. */
export interface HaltFrame extends FrameBase {
  /** Always `halt`. */
  readonly type: 'halt';
  /** The error's code. */
  readonly code: string;
  /** The error's message. */
  readonly message: string;
  /** Why, where it says more than the code (`{ reason: 'logout' }`); absent from tabbus before 0.2. */
  readonly context?: Record<string, unknown>;
}

/** Every frame tabs exchange; `type` tells them apart (see docs/architecture.md). */
export type Frame<Item extends BusItem = BusItem> =
  | HelloFrame
  | ByeFrame
  | LeadFrame
  | WelcomeFrame
  | BatchFrame<Item>
  | StatusFrame
  | GapFrame
  | ResyncFrame
  | ClaimFrame
  | YieldFrame
  | ActivityFrame
  | SharedFrame
  | OnceFrame
  | ProbeFrame
  | AliveFrame
  | HaltFrame;

/** Frames only a leader sends: they are fenced by epoch. */
export const LEADER_FRAMES: ReadonlySet<Frame['type']> = new Set(['lead', 'welcome', 'batch', 'status', 'gap', 'alive', 'yield']);

/** Why something from the channel is no frame for this tab. */
export type NotAFrame = 'not-a-frame' | 'other-scope' | 'version';

/**
 * Checks the envelope of something received from the channel: the frame, or why it is none (`version`: one
 * of another protocol version, its `v`). Other pages of the origin may share the channel name by accident,
 * and other builds of tabbus may speak another version: neither may throw.
 */
export function checkFrame<Item extends BusItem>(data: unknown, scope: string): Frame<Item> | NotAFrame {
  // Data that is no object (null, a string) has no string `type` either. An epoch that is no integer
  // (Infinity, NaN, 1e300) would stick in every tab and end fencing: each new term the same.
  const f = data as (Partial<FrameBase> & { type?: unknown }) | null | undefined;
  if (typeof f?.type !== 'string' || typeof f.from !== 'string' || !Number.isSafeInteger(f.epoch) || f.epoch! < 0) return 'not-a-frame';
  if (f.v !== FRAME_VERSION) return 'version';
  if (f.scope !== scope) return 'other-scope';
  return data as Frame<Item>;
}

/** Leadership terms are ordered by epoch, then by tab id, so two leaders can never tie. */
export const isNewerTerm = (epoch: number, leader: string, thanEpoch: number, thanLeader: string | null): boolean =>
  epoch > thanEpoch || (epoch === thanEpoch && (thanLeader === null || leader > thanLeader));
