// What the tier needs to know of each series' Discuss (read from each series' public mail source): the
// channel model, how a direct chat is made, where the Discuss app shows a thread, and the page's classes.
import { randomBytes } from 'node:crypto';
import { OdooSession } from './odoo-rpc';
import type { Series } from './servers';

/** The login of the second user the tier creates (or reuses) to post chat messages. */
export const POSTER_LOGIN = 'tabbus_check_poster';

const channelModel = (series: Series) => (series <= 16 ? 'mail.channel' : 'discuss.channel');

/**
 * The poster: an internal user, created once and given a fresh random password at each run (the tier
 * never leaves a known password behind on someone's Odoo). Returns its logged-in session.
 */
export async function posterSession(admin: OdooSession): Promise<OdooSession> {
  const password = randomBytes(18).toString('base64url');
  const found = await admin.kw<number[]>('res.users', 'search', [[['login', '=', POSTER_LOGIN]]], { context: { active_test: false } });
  if (found.length) await admin.kw('res.users', 'write', [found, { password, active: true }]);
  else await admin.kw('res.users', 'create', [{ name: 'tabbus check poster', login: POSTER_LOGIN, password }]);
  return new OdooSession(admin.url, admin.db).login(POSTER_LOGIN, password);
}

/**
 * The direct chat between the administrator and the poster, made (or found) and pinned by the
 * administrator, as opening a chat from the web client does: a chat the administrator has not pinned is
 * not loaded by its Discuss. Returns its id.
 */
export async function directChat(series: Series, admin: OdooSession, poster: OdooSession): Promise<number> {
  const model = channelModel(series);
  const partners = [poster.partnerId!];
  if (series >= 19) {
    // 19 makes chats through its store route only (the model method is private).
    await admin.call('/mail/action', { fetch_params: [['/discuss/get_or_create_chat', { partners_to: partners }]] });
  } else {
    const made = await admin.kw<{ id?: number } | number | null>(model, 'channel_get', [], { partners_to: partners });
    if (typeof made === 'object' && typeof made?.id === 'number') return made.id;
  }
  const ids = await admin.kw<number[]>(model, 'search', [
    [
      ['channel_type', '=', 'chat'],
      ['channel_member_ids.partner_id', 'in', [admin.partnerId]],
      ['channel_member_ids.partner_id', 'in', [poster.partnerId]],
    ],
  ]);
  if (!ids.length) throw new Error(`no direct chat between partners ${admin.partnerId} and ${poster.partnerId} after creating it`);
  return ids[0]!;
}

/** Posts a chat message as `poster`, the way the web client's composer ends up doing it. */
export function postMessage(series: Series, poster: OdooSession, channelId: number, text: string): Promise<unknown> {
  return poster.kw(channelModel(series), 'message_post', [[channelId]], { body: text, message_type: 'comment', subtype_xmlid: 'mail.mt_comment' });
}

/** The Discuss app showing that thread. */
export function discussUrl(series: Series, base: string, channelId: number): string {
  // 15 reads the thread from the action's context (`active_id`), 16 from its params (`default_active_id`).
  if (series <= 16) return `${base}/web#action=mail.action_discuss&active_id=mail.channel_${channelId}&default_active_id=mail.channel_${channelId}`;
  if (series === 17) return `${base}/web#action=mail.action_discuss&active_id=discuss.channel_${channelId}`;
  return `${base}/odoo/discuss?active_id=discuss.channel_${channelId}`;
}

/** The thread of the Discuss app, and one message in it (15/16: the legacy mail models' classes). */
export function selectors(series: Series): { thread: string; message: string } {
  return series <= 16 ? { thread: '.o_Discuss .o_ThreadView', message: '.o_Message' } : { thread: '.o-mail-Discuss .o-mail-Thread', message: '.o-mail-Message' };
}
