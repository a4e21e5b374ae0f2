"""Hands the tabbus settings to the browser with the session info the web client already loads."""
from odoo import models

# ir.config_parameter key -> (session_info key, default, how to read the stored text)
SETTINGS = {
    'tabbus.hidden_pace': ('hidden_pace', 30000, int),
    'tabbus.prefer_visible_leader': ('prefer_visible_leader', True, lambda text: text.strip().lower() not in ('0', 'false', 'no', 'off', '')),
    'tabbus.hidden_socket_close': ('hidden_socket_close', 0, int),
    'tabbus.websocket': ('websocket', 'fallback', lambda text: 'always' if text.strip().lower() == 'always' else 'fallback'),
}


def read_settings(get_param):
    """The settings as the adapters read them; a value that does not parse falls back to its default."""
    settings = {}
    for key, (name, default, parse) in SETTINGS.items():
        text = get_param(key)
        try:
            settings[name] = default if text in (None, False) else parse(str(text))
        except ValueError:
            settings[name] = default
    return settings


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    def session_info(self):
        info = super().session_info()
        info['tabbus'] = read_settings(self.env['ir.config_parameter'].sudo().get_param)
        return info
