// Turning "send this on that channel" into bus rows, for every sender: the public API's
// publish(), Odoo's /longpolling/send and the dev-only /tabbus/send. 15 stores
// `{"type","payload"}` messages; 8–14 store the raw value.
import { encodeChannel, encodeRecordChannel, personalChannel } from './channels';
import type { ServerContext } from './context';
import { isPlainObject } from './jsonrpc';
import { hasTypedMessages, hasWebSocket } from './odoo-version';
import { pythonJsonDumps } from './pyjson';
import type { NewRow } from './store';

/** A notification as Odoo 15 stores it (`_sendone(target, type, payload)`). */
export interface TypedMessage {
  /** The notification type, e.g. `mail.record/insert`. */
  type: string;
  /** Its content. */
  payload: unknown;
}

/** Bad input to a sender: says what was expected for the emulated version. */
export class PublishError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'PublishError';
  }
}

/** Checks a message for the emulated version and returns what bus_bus.message stores. */
export function encodeMessage(ctx: Pick<ServerContext, 'version'>, message: unknown): string {
  if (hasTypedMessages(ctx.version)) {
    if (!isPlainObject(message) || typeof message['type'] !== 'string' || message['payload'] === undefined) {
      throw new PublishError(`Odoo ${ctx.version} messages are {type: string, payload: any JSON value}`);
    }
    return dumps({ type: message['type'], payload: message['payload'] });
  }
  if (message === undefined) throw new PublishError(`Odoo ${ctx.version} needs a message (any JSON value)`);
  return dumps(message);
}

function dumps(value: unknown): string {
  try {
    return pythonJsonDumps(value);
  } catch (error) {
    // Cycles, BigInts: values a JSON column cannot hold.
    throw new PublishError(`the message is not JSON: ${(error as Error).message}`);
  }
}

/** 16+: a record channel `[model, id]`, stored as `["<db>",model,id]` (e.g. `["res.partner", 7]`). */
export type RecordChannel = readonly [string, number];

/** 16+ accept `[model, id]` as well as a name: the partner channel every socket listens on. */
export function isRecordChannel(ctx: Pick<ServerContext, 'version'>, channel: unknown): channel is RecordChannel {
  return (
    hasWebSocket(ctx.version) &&
    Array.isArray(channel) &&
    channel.length === 2 &&
    typeof channel[0] === 'string' &&
    Number.isInteger(channel[1])
  );
}

interface NotificationBody {
  /** 15: `{type, payload}`; 8–14: any JSON value. */
  readonly message: unknown;
  /** The database to publish in (a server may serve several); default the first one. */
  readonly db?: string;
}

/** A notification on a channel. */
export interface ChannelNotification extends NotificationBody {
  /**
   * A channel name as a client polls it (15+ store it as `["<db>","<name>"]`), or on 16+ a record
   * channel `[model, id]` (stored as `["<db>",model,id]`).
   */
  readonly channel: string | RecordChannel;
}

/**
 * A notification for one user only, on their personal channel (channels.ts `personalChannel`): what
 * Odoo's mail sends a partner. On 8 the channel is keyed by uid, so a user must own the partner.
 */
export interface PartnerNotification extends NotificationBody {
  readonly partner: number;
}

export type Notification = ChannelNotification | PartnerNotification;

/** Validates every notification first, then inserts them as one batch; returns their ids (memory store only). */
export function publishNotifications(ctx: ServerContext, notifications: readonly Notification[]): number[] {
  if (ctx.pg) throw new PublishError('with --pg, notifications go through PostgreSQL: use publishAsync (or POST /tabbus/send)');
  const ids = ctx.store.insert(encodeNotifications(ctx, notifications));
  ctx.stats.countNotifications(ids.length);
  return ids;
}

/** The same on either store: through PostgreSQL (insert, commit, NOTIFY) with `--pg`, else in memory. */
export async function publishAsync(ctx: ServerContext, notifications: readonly Notification[]): Promise<number[]> {
  const rows = encodeNotifications(ctx, notifications);
  const ids = ctx.pg ? await ctx.pg.insert(rows) : ctx.store.insert(rows);
  ctx.stats.countNotifications(ids.length);
  return ids;
}

/**
 * Validates the notifications and inserts them in a transaction left open (memory store only): their ids
 * are taken, nobody reads them until `ctx.store.commit`. Odoo commits a lower id after a higher one when
 * two transactions overlap; 17+ sockets still send such an id (late), the others never do.
 */
export function publishUncommitted(ctx: ServerContext, notifications: readonly Notification[]): number[] {
  if (ctx.pg) throw new PublishError('with --pg, rows are committed by PostgreSQL: uncommitted notifications are for the memory store only');
  const ids = ctx.store.insertUncommitted(encodeNotifications(ctx, notifications));
  ctx.stats.countNotifications(ids.length);
  return ids;
}

/** The stored channel of one notification, spelled for database `db`. */
function encodeTarget(ctx: ServerContext, notification: Notification, db: string): string {
  if ('partner' in notification) {
    const partner = notification.partner;
    if (!Number.isSafeInteger(partner) || partner < 1) throw new PublishError(`partner must be a partner id (an integer ≥ 1), got ${JSON.stringify(partner)}`);
    if (ctx.version !== 8) return personalChannel(ctx.version, db, { uid: 0, partnerId: partner });
    // 8.0's personal channel is the user's (im_chat.session, uid): find the user of that partner.
    const user = ctx.sessions.userByPartner(partner);
    if (!user) throw new PublishError(`Odoo 8 sends to a user's channel (im_chat.session, uid): no user has partner ${partner}`);
    return personalChannel(ctx.version, db, user);
  }
  const { channel } = notification;
  if (isRecordChannel(ctx, channel)) return encodeRecordChannel(db, channel[0], channel[1]);
  if (typeof channel !== 'string') throw new PublishError(hasWebSocket(ctx.version) ? 'channel must be a string or [model, id]' : 'channel must be a string');
  return encodeChannel(ctx.version, db, channel);
}

/** Validates every notification and encodes it as a bus_bus row; throws a PublishError naming the bad one. */
function encodeNotifications(ctx: ServerContext, notifications: readonly Notification[]): NewRow[] {
  const rows: NewRow[] = notifications.map((notification, index) => {
    try {
      const db = notification.db ?? ctx.db;
      if (!ctx.databases.includes(db)) throw new PublishError(`unknown database ${JSON.stringify(db)} (this server has ${ctx.databases.map((d) => JSON.stringify(d)).join(', ')})`);
      return { channel: encodeTarget(ctx, notification, db), message: encodeMessage(ctx, notification.message), db };
    } catch (error) {
      // In a batch, say which notification is wrong.
      if (notifications.length > 1 && error instanceof PublishError) throw new PublishError(`item ${index}: ${error.message}`);
      throw error;
    }
  });
  return rows;
}
