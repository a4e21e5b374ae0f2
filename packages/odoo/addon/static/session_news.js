// tabbus_bus: the session news every tabbus tab of this server shares (see @tabbus/odoo's sessions.ts). The
// session cookie is HttpOnly: no page sees it change, so the pages that change it say so on the channel
// `tabbus:<origin>:sessions`, and the buses of the users it no longer belongs to stop before their next
// request. Plain script, no TabBus needed: Odoo's login page loads no bus.
// - On the login form: a login is under way (the leaders hold their next request until the new user's
//   first page says who is logged in), or, shown again with an error, it failed (nothing changed).
// - `window.tabbusSessionNews(news)`: for the user menu's "Log out" (client_news.js, client_news_legacy.js).
(function () {
  'use strict';
  var name = 'tabbus:' + location.origin + ':sessions';
  function tell(news) {
    if (typeof BroadcastChannel !== 'function') return;
    try {
      var channel = new BroadcastChannel(name);
      channel.postMessage(news);
      channel.close();
    } catch (error) {
      // A page that cannot open a channel has nothing to tell with.
    }
  }
  window.tabbusSessionNews = tell;
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form && form.matches && form.matches('form.oe_login_form')) tell({ kind: 'login', state: 'pending' });
  }, true);
  function failed() {
    if (document.querySelector('form.oe_login_form .alert-danger')) tell({ kind: 'login', state: 'failed' });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', failed);
  else failed();
})();
