/**
 * How a desktop notification went: `'shown'`; `'denied'`: the page may not show them (the user refused,
 * or was never asked: see {@link requestDesktopPermission}); `'unsupported'`: no Notification API, or one
 * that only service workers may use (Chrome on Android).
 */
export type DesktopResult = 'shown' | 'denied' | 'unsupported';

/**
 * The page's notifications permission as the Permissions API keeps it, current through its change events.
 * Read per message, and Chromium answers `Notification.permission` with a synchronous round trip to the
 * browser process: under a stream of messages that stalled every tab. Asked for once per page.
 */
let watched: PermissionStatus | undefined;
let watching = false;
const watchedPermission = (): PermissionState | undefined => {
  if (!watching) {
    watching = true;
    // Not every browser knows the 'notifications' name (or the API): then Notification.permission it is.
    try {
      globalThis.navigator?.permissions?.query({ name: 'notifications' }).then((status) => (watched = status), () => undefined);
    } catch {
      // An old implementation that throws instead of rejecting.
    }
  }
  return watched?.state;
};

/** Whether this page may show a desktop notification now. Never asks: only a user gesture should. */
export function desktopPermission(): 'granted' | 'denied' | 'unsupported' {
  if (typeof Notification !== 'function') return 'unsupported';
  return (watchedPermission() ?? Notification.permission) === 'granted' ? 'granted' : 'denied';
}

/** Shows a desktop notification; call it only after {@link desktopPermission} said `'granted'`. */
export function showDesktop(title: string, options?: NotificationOptions): DesktopResult {
  try {
    new Notification(title, options);
    return 'shown';
  } catch {
    // The constructor throws where only a service worker registration may show notifications.
    return 'unsupported';
  }
}

/**
 * Asks the user whether this site may show desktop notifications. Call it from a user gesture (a click):
 * browsers ignore or penalise a prompt that comes out of nowhere, which is why the effects never ask.
 * Resolves with the permission, or `'unsupported'` without a Notification API.
 */
export async function requestDesktopPermission(): Promise<NotificationPermission | 'unsupported'> {
  if (typeof Notification !== 'function') return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}
