// tabbus_bus: the session news every tabbus tab of this server shares (see @tabbus/odoo's sessions.ts). The
// session cookie is HttpOnly: no page sees it change, so the pages that change it say so on the channel
// `tabbus:<origin>:sessions`, and the buses of the users it no longer belongs to stop before their next
// request. Plain script, no TabBus needed: Odoo's login page loads no bus. It runs on every page: in the web
// client's bundle, and on the website and the login page in the one Odoo loads first (on 15+
// `web.assets_frontend_minimal`; the rest of the frontend bundle comes after the page's load event).
// - On the login form: a login is under way (the leaders hold their next request). The tab notes it in its
//   sessionStorage, and the next page it shows says how it went: the form again with an error, it failed
//   (nothing changed); any other page, it is over (the cookie changed before that page came: the leaders ask
//   the server whose session it is now, rather than wait 30 s for news that never comes).
// - `window.tabbusSessionNews(news)`: for the user menu's "Log out" (client_news.js, client_news_legacy.js).
(function () {
  'use strict';
  var name = 'tabbus:' + location.origin + ':sessions';
  var submitted = 'tabbus:login-submitted';
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
  /** Reads (and with `value` null, clears; else sets) this tab's note of a submitted login form; storage that throws notes nothing. */
  function note(value) {
    try {
      var before = sessionStorage.getItem(submitted);
      if (value === null) sessionStorage.removeItem(submitted);
      else if (value) sessionStorage.setItem(submitted, value);
      return before;
    } catch (error) {
      return null;
    }
  }
  window.tabbusSessionNews = tell;
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form && form.matches && form.matches('form.oe_login_form')) {
      note('1');
      tell({ kind: 'login', state: 'pending' });
    }
  }, true);
  function loaded() {
    var failed = document.querySelector('form.oe_login_form .alert-danger');
    if (note(null)) tell({ kind: 'login', state: failed ? 'failed' : 'over' });
    else if (failed) tell({ kind: 'login', state: 'failed' });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', loaded);
  else loaded();
})();
