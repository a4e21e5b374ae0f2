/**
 * How long a suspended AudioContext gets to resume, in ms. Without a user gesture the browser leaves
 * `resume()` pending rather than rejecting it, so waiting for it could take forever; a real resume takes a few ms.
 */
const RESUME_WAIT = 250;

/**
 * The input events that carry user activation (HTML's "activation-triggering" events): media may start
 * while one of them is being handled. `pointerdown` counts for a mouse, `pointerup` and `touchend` for touch.
 */
const GESTURES = ['pointerdown', 'pointerup', 'keydown', 'touchend'] as const;

/** Contexts already waiting for input: a page that keeps getting blocked beeps adds its listeners once. */
const waiting = new WeakSet<AudioContext>();

// A function, not an inline comparison: TypeScript would keep `state` narrowed across an `await`.
const running = (context: AudioContext): boolean => context.state === 'running';

/**
 * Resolves when `pending` settles or `wait` ms have passed, whichever comes first; never rejects. For the
 * context's `resume()` and `suspend()`, which a browser may leave pending: the caller looks at its state.
 */
export function settled(pending: Promise<unknown>, wait = RESUME_WAIT): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, wait);
    const finish = (): void => {
      clearTimeout(timer);
      done();
    };
    pending.then(finish, finish);
  });
}

/**
 * Resumes `context` in the handler of the page's next user input, then stops listening. Safari starts a
 * context only while a gesture is being handled (an earlier click on the page is not enough, as it is in
 * Chrome), and beeps come from bus messages, never from a gesture: without this, a sound blocked once
 * would stay blocked there for the life of the page.
 */
function resumeOnInput(context: AudioContext): void {
  if (typeof addEventListener !== 'function' || waiting.has(context)) return;
  waiting.add(context);
  const stop = (): void => {
    if (!running(context)) return;
    for (const type of GESTURES) removeEventListener(type, onInput, true);
    waiting.delete(context);
  };
  // resume() stays pending after an input that carries no activation (a touch's pointerdown): harmless,
  // it settles with the next one that does.
  const onInput = (): void => void context.resume().then(stop, stop);
  for (const type of GESTURES) addEventListener(type, onInput, { capture: true, passive: true });
}

/**
 * Whether `context` may play now. Autoplay rules keep a context created before any user gesture
 * `suspended`: it is resumed if the browser allows (`ranBefore`: it ran before, so ask even on a page
 * without user activation); if it stays suspended, it will resume at the page's next user input, and this
 * resolves `false`.
 */
export async function wake(context: AudioContext, ranBefore = false): Promise<boolean> {
  if (running(context)) return true;
  // A page the user never interacted with cannot start audio (a browser that allows it anyway creates its
  // contexts running): asking would only wait RESUME_WAIT and print the browser's autoplay warning again.
  // A context that ran once (suspended since) may start again: ask even without activation.
  // Its resume() is not an autoplay refusal left pending: give the output device time to start (Chromium
  // reports 'running' only once it has), or the tab that took the key would drop the beep.
  if (ranBefore) await settled(context.resume(), 10 * RESUME_WAIT);
  else if (globalThis.navigator?.userActivation?.hasBeenActive !== false) await settled(context.resume());
  // Checked again even when resume() resolved: Safari resolves it for a context that stays interrupted.
  if (running(context)) return true;
  resumeOnInput(context);
  return false;
}
