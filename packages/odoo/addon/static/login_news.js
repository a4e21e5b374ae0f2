// tabbus_bus, on Odoo's login page: tells the tabbus tabs of this server that a login is under way. The
// session cookie is about to change (it is HttpOnly: no page can see it), so their leader holds its next
// request until the new user's first page says who is logged in. A failed attempt shows the form again,
// with an error: then nothing changed. No TabBus here: one message on the channel all tabbus tabs of the
// origin share.
(function () {
  'use strict';
  if (typeof BroadcastChannel !== 'function') return;
  var name = 'tabbus:' + location.origin + ':sessions';
  function tell(news) {
    try {
      var channel = new BroadcastChannel(name);
      channel.postMessage(news);
      channel.close();
    } catch (error) {
      // A page that cannot open a channel has nothing to tell with.
    }
  }
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
