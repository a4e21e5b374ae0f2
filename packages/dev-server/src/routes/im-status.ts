// /longpolling/im_status (12–15, `type=json`, `auth=user`): the bus controller's
// `res.partner.search([('id', 'in', partner_ids)]).read(['im_status'])`, which the mail client
// calls every 50 s for the partners it shows. The only partners here are the users' own.
import type { ServerContext } from '../context';
import { pythonTypeError, requireParams } from '../jsonrpc';
import type { RpcRoute } from '../rpc-route';
import type { DevUser } from '../sessions';

/** The ids asked for. Odoo would pass anything on to its domain; here only a list of integers goes. */
function partnerIds(value: unknown): Set<number> {
  if (!Array.isArray(value) || !value.every((id): id is number => Number.isSafeInteger(id))) {
    throw pythonTypeError('im_status(): partner_ids must be a list of partner ids (integers)');
  }
  return new Set(value);
}

// res.partner's `_order = "display_name"` (read in 14.0); ids break ties so the order is stable.
const byDisplayName = (a: DevUser, b: DevUser): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.partnerId - b.partnerId);

export function imStatusRoute(ctx: ServerContext, users: readonly DevUser[]): RpcRoute {
  return {
    path: '/longpolling/im_status',
    auth: 'user',
    handle(call) {
      requireParams('im_status', call.params, ['partner_ids']);
      const wanted = partnerIds(call.params['partner_ids']);
      // search() returns each existing record once, in the model's order; unknown ids are left
      // out. Each user has a partner of its own, as in Odoo; a partner shared by two configured
      // users reports the first one.
      const partners = new Map<number, DevUser>();
      for (const user of users) {
        if (wanted.has(user.partnerId) && !partners.has(user.partnerId)) partners.set(user.partnerId, user);
      }
      return [...partners.values()].sort(byDisplayName).map((user) => ({ id: user.partnerId, im_status: ctx.presence.status(user.uid) }));
    },
  };
}
