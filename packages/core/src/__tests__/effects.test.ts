// One-tab effects (`@tabbus/core/effects`): the sound answers what the browser allowed instead of throwing,
// and with a bus each key's sound or desktop notification happens in one tab of the browser. Node has no
// Web Audio, Audio or Notification: the fakes below stand in for them, with the autoplay and permission
// behaviours browsers have.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBus, type TabBus } from '../index';
import { createEffects, createSound, requestDesktopPermission, type Effects, type EffectsOptions, type SoundResult } from '@tabbus/core/effects';
import { FOLLOWER_WAIT } from '../once';
import { AUDIO_REST } from '../effects/sound';
import { FakeBrowser, FakeServer, VirtualClock, type FakeTab } from '../testing';

const domError = (name: string) => new DOMException(`fake ${name}`, name);

// ---- Web Audio ---------------------------------------------------------------------------------------

class FakeParam {
  value = 0;
  readonly events: string[] = [];
  setValueAtTime(value: number, time: number): void {
    this.events.push(`set ${value}@${time}`);
  }
  exponentialRampToValueAtTime(value: number, time: number): void {
    this.events.push(`ramp ${value}@${time}`);
  }
}

class FakeNode {
  readonly outputs: FakeNode[] = [];
  disconnected = false;
  connect<T extends FakeNode>(node: T): T {
    this.outputs.push(node);
    return node;
  }
  disconnect(): void {
    this.disconnected = true;
  }
}

class FakeOscillator extends FakeNode {
  readonly frequency = new FakeParam();
  onended: (() => void) | null = null;
  startedAt: number | undefined;
  stoppedAt: number | undefined;
  start(time: number): void {
    this.startedAt = time;
  }
  stop(time: number): void {
    this.stoppedAt = time;
  }
}

class FakeGain extends FakeNode {
  readonly gain = new FakeParam();
}

/**
 * What `resume()` of a suspended context does: `allow` (the page had a user gesture), `pend` (Chrome
 * without one: the promise never settles), `stay` (resolves but the state does not change), `reject`.
 */
type ResumeBehaviour = 'allow' | 'pend' | 'stay' | 'reject';

/** What `suspend()` does: `allow` (at once), `pend` (until `finishSuspend()`), `reject`. */
type SuspendBehaviour = 'allow' | 'pend' | 'reject';

interface ContextBehaviour {
  /** Its state when constructed. Default `suspended`. */
  state?: AudioContextState;
  /** Default `allow`. */
  resume?: ResumeBehaviour;
  /** Default `allow`. */
  suspend?: SuspendBehaviour;
}

/**
 * Installs a fake `AudioContext` global; `contexts` lists every one constructed. `perContext[i]` overrides
 * the options for the i-th context (tabs have their own: one tab may have had a user gesture, another not).
 */
function installAudioContext(options: ContextBehaviour & { constructorError?: string; perContext?: ContextBehaviour[] } = {}) {
  const contexts: FakeAudioContext[] = [];
  class FakeAudioContext {
    readonly #own = options.perContext?.[contexts.length] ?? {};
    state: AudioContextState = this.#own.state ?? options.state ?? 'suspended';
    readonly currentTime = 12;
    readonly destination = new FakeNode();
    readonly oscillators: FakeOscillator[] = [];
    readonly gains: FakeGain[] = [];
    resumes = 0;
    suspends = 0;
    onstatechange: (() => void) | null = null;
    /** Completes a suspend() that pends. */
    finishSuspend: () => void = () => {};
    constructor() {
      if (options.constructorError) throw domError(options.constructorError);
      contexts.push(this);
    }
    #become(state: AudioContextState): void {
      if (this.state === state) return;
      this.state = state;
      this.onstatechange?.();
    }
    resume(): Promise<void> {
      this.resumes++;
      switch (this.#own.resume ?? options.resume ?? 'allow') {
        case 'allow':
          this.#become('running');
          return Promise.resolve();
        case 'pend':
          return new Promise(() => {});
        case 'stay':
          return Promise.resolve();
        case 'reject':
          return Promise.reject(domError('InvalidStateError'));
      }
    }
    suspend(): Promise<void> {
      this.suspends++;
      switch (this.#own.suspend ?? options.suspend ?? 'allow') {
        case 'allow':
          this.#become('suspended');
          return Promise.resolve();
        case 'pend':
          return new Promise((done) => {
            this.finishSuspend = () => {
              this.#become('suspended');
              done();
            };
          });
        case 'reject':
          return Promise.reject(domError('InvalidStateError'));
      }
    }
    createOscillator(): FakeOscillator {
      const node = new FakeOscillator();
      this.oscillators.push(node);
      return node;
    }
    createGain(): FakeGain {
      const node = new FakeGain();
      this.gains.push(node);
      return node;
    }
  }
  vi.stubGlobal('AudioContext', FakeAudioContext);
  /** Tones started in any context. */
  const tones = () => contexts.flatMap((c) => c.oscillators).filter((o) => o.startedAt !== undefined);
  /** From now on resume() does `behaviour` (a user gesture happened: `allow`). */
  const setResume = (behaviour: ResumeBehaviour) => (options.resume = behaviour);
  return { contexts, tones, setResume };
}

/**
 * Installs the window's `addEventListener` / `removeEventListener`. Not Node's EventTarget: it does not
 * always match a listener added with `{ capture: true }` to its removal with `true`, as browsers do.
 */
function installWindowEvents() {
  const listeners: { type: string; fn: () => void; capture: boolean }[] = [];
  const captureOf = (options?: boolean | AddEventListenerOptions) => (typeof options === 'boolean' ? options : options?.capture === true);
  vi.stubGlobal('addEventListener', (type: string, fn: () => void, options?: boolean | AddEventListenerOptions) => {
    const capture = captureOf(options);
    if (!listeners.some((l) => l.type === type && l.fn === fn && l.capture === capture)) listeners.push({ type, fn, capture });
  });
  vi.stubGlobal('removeEventListener', (type: string, fn: () => void, options?: boolean | EventListenerOptions) => {
    const i = listeners.findIndex((l) => l.type === type && l.fn === fn && l.capture === captureOf(options));
    if (i >= 0) listeners.splice(i, 1);
  });
  return {
    dispatch: (type: string) => listeners.filter((l) => l.type === type).forEach((l) => l.fn()),
    count: () => listeners.length,
  };
}

// ---- HTMLAudioElement ----------------------------------------------------------------------------------

/** Installs a fake `Audio` global whose `play()` resolves, or rejects with `playError`. */
function installAudio(playError?: string) {
  const elements: FakeAudio[] = [];
  class FakeAudio {
    volume = 1;
    currentTime = 3;
    plays = 0;
    readonly src: string;
    constructor(src: string) {
      this.src = src;
      elements.push(this);
    }
    play(): Promise<void> {
      this.plays++;
      return playError ? Promise.reject(domError(playError)) : Promise.resolve();
    }
  }
  vi.stubGlobal('Audio', FakeAudio);
  return elements;
}

// ---- Notification ------------------------------------------------------------------------------------

/** Installs a fake `Notification` global with the given permission; `shown` lists what was constructed. */
function installNotification(permission: NotificationPermission, options: { constructorError?: string; answer?: NotificationPermission | 'reject' } = {}) {
  const shown: { title: string; options: NotificationOptions | undefined }[] = [];
  const requests = { count: 0 };
  class FakeNotification {
    static permission: NotificationPermission = permission;
    static requestPermission(): Promise<NotificationPermission> {
      requests.count++;
      const answer = options.answer ?? 'granted';
      if (answer === 'reject') return Promise.reject(new TypeError('no gesture'));
      FakeNotification.permission = answer;
      return Promise.resolve(answer);
    }
    constructor(title: string, init?: NotificationOptions) {
      if (options.constructorError) throw new TypeError(options.constructorError);
      shown.push({ title, options: init });
    }
  }
  vi.stubGlobal('Notification', FakeNotification);
  return { shown, requests, grant: () => (FakeNotification.permission = 'granted') };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('createSound: the default tone', () => {
  it('plays a ~150 ms 880 Hz tone through a gain envelope on a running context', async () => {
    const audio = installAudioContext({ state: 'running' });
    const results: SoundResult[] = [];
    const sound = createSound({ onPlay: (r) => results.push(r) });
    await expect(sound.play()).resolves.toBe('played');
    const [context] = audio.contexts;
    const [oscillator] = context!.oscillators;
    const [gain] = context!.gains;
    expect(oscillator!.frequency.value).toBe(880);
    expect(oscillator!.startedAt).toBe(12);
    expect(oscillator!.stoppedAt).toBeCloseTo(12.15);
    // oscillator → gain → speakers, and a fade in and out (no click).
    expect(oscillator!.outputs).toEqual([gain]);
    expect(gain!.outputs).toEqual([context!.destination]);
    expect(gain!.gain.events).toEqual(['set 0.0001@12', 'ramp 0.3@12.01', `ramp 0.0001@${12 + 0.15}`]);
    expect(context!.resumes).toBe(0);
    oscillator!.onended?.();
    expect(gain!.disconnected).toBe(true);
    expect(results).toEqual(['played']);
    expect(sound.plays).toBe(1);
  });

  it('honours frequency, duration and volume (clamped to 0–1)', async () => {
    const audio = installAudioContext({ state: 'running' });
    await createSound({ frequency: 440, duration: 400, volume: 5 }).play();
    const oscillator = audio.tones()[0]!;
    expect(oscillator.frequency.value).toBe(440);
    expect(oscillator.stoppedAt).toBeCloseTo(12.4);
    expect(audio.contexts[0]!.gains[0]!.gain.events[1]).toBe('ramp 1@12.01');
  });

  it('resumes a context suspended by the autoplay rules when the browser lets it', async () => {
    const audio = installAudioContext({ state: 'suspended', resume: 'allow' });
    await expect(createSound().play()).resolves.toBe('played');
    expect(audio.contexts[0]!.resumes).toBe(1);
    expect(audio.tones()).toHaveLength(1);
  });

  it("is 'blocked', not stuck, when resume() never settles (no user gesture yet)", async () => {
    vi.useFakeTimers();
    const audio = installAudioContext({ state: 'suspended', resume: 'pend' });
    let result: SoundResult | undefined;
    const played = createSound().play().then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(200);
    expect(result).toBeUndefined(); // still giving the browser its chance
    await vi.advanceTimersByTimeAsync(100);
    await played;
    expect(result).toBe('blocked');
    expect(audio.tones()).toHaveLength(0);
  });

  it.each(['stay', 'reject'] as const)("is 'blocked' when resume() settles (%s) and the context stays suspended", async (resume) => {
    const audio = installAudioContext({ state: 'suspended', resume });
    const sound = createSound();
    await expect(sound.play()).resolves.toBe('blocked');
    expect(audio.tones()).toHaveLength(0);
    expect(sound.plays).toBe(0);
  });

  it('a blocked context resumes at the next user input (Safari starts audio only then), and stops listening', async () => {
    const page = installWindowEvents();
    const audio = installAudioContext({ state: 'suspended', resume: 'stay' });
    const sound = createSound();
    await expect(sound.play()).resolves.toBe('blocked');
    await expect(sound.play()).resolves.toBe('blocked');
    const context = audio.contexts[0]!;
    expect(context.resumes).toBe(2);
    expect(page.count()).toBe(4); // one listener per kind of input, however many plays were blocked
    const settled = () => new Promise((resolve) => setTimeout(resolve, 0)); // resume() settles
    page.dispatch('scroll'); // not an input that may start audio
    expect(context.resumes).toBe(2);
    page.dispatch('pointerdown'); // an input the browser did not start audio for: keep listening
    await settled();
    expect([context.resumes, page.count()]).toEqual([3, 4]);
    audio.setResume('allow');
    page.dispatch('keydown');
    expect(context.resumes).toBe(4); // once, however many plays were blocked
    expect(context.state).toBe('running');
    await settled();
    expect(page.count()).toBe(0);
    page.dispatch('pointerdown');
    expect(context.resumes).toBe(4); // listeners gone
    await expect(sound.play()).resolves.toBe('played');
    expect(context.resumes).toBe(4);
  });

  it('on a page the user never interacted with, gives up at once: no resume() (Chrome would only warn again)', async () => {
    vi.stubGlobal('navigator', { userActivation: { hasBeenActive: false } });
    const page = installWindowEvents();
    const audio = installAudioContext({ state: 'suspended', resume: 'pend' });
    await expect(createSound().play()).resolves.toBe('blocked'); // with 'pend' and a resume() this would take 250 ms
    expect(audio.contexts[0]!.resumes).toBe(0);
    expect(page.count()).toBe(4); // resumes at the first input
  });

  it('check() tells whether a play would be heard, without playing', async () => {
    const audio = installAudioContext({ state: 'suspended', resume: 'stay' });
    const sound = createSound();
    await expect(sound.check()).resolves.toBe('blocked');
    audio.setResume('allow');
    await expect(sound.check()).resolves.toBe('ready');
    expect(audio.contexts).toHaveLength(1);
    expect(audio.tones()).toHaveLength(0);
    expect(sound.plays).toBe(0);
    vi.unstubAllGlobals();
    await expect(createSound().check()).resolves.toBe('unsupported');
    await expect(createSound({ url: '/ding.ogg' }).check()).resolves.toBe('unsupported');
    installAudio('NotAllowedError');
    await expect(createSound({ url: '/ding.ogg' }).check()).resolves.toBe('ready'); // only playing a file tells
    installAudioContext({ constructorError: 'NotAllowedError' });
    await expect(createSound().check()).resolves.toBe('blocked'); // never rejects
  });

  it('creates one AudioContext and reuses it, unless it was closed', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound();
    await sound.play();
    await sound.play();
    await sound.play();
    expect(audio.contexts).toHaveLength(1);
    expect(audio.tones()).toHaveLength(3);
    expect(sound.plays).toBe(3);
    audio.contexts[0]!.state = 'closed';
    await sound.play();
    expect(audio.contexts).toHaveLength(2);
  });

  it("is 'unsupported' without Web Audio, and tells onPlay", async () => {
    const results: SoundResult[] = [];
    await expect(createSound({ onPlay: (r) => results.push(r) }).play()).resolves.toBe('unsupported');
    expect(results).toEqual(['unsupported']);
  });

  it.each([
    ['NotAllowedError', 'blocked'],
    ['NotSupportedError', 'unsupported'],
  ] as const)('resolves (never rejects) when the AudioContext constructor throws %s', async (error, expected) => {
    installAudioContext({ constructorError: error });
    await expect(createSound().play()).resolves.toBe(expected);
  });

  it('a throwing onPlay hook does not turn the play into a rejection; its error is reported as uncaught', async () => {
    vi.useFakeTimers();
    installAudioContext({ state: 'running' });
    const sound = createSound({
      onPlay: () => {
        throw new Error('hook failed');
      },
    });
    await expect(sound.play()).resolves.toBe('played');
    expect(() => vi.runAllTimers()).toThrow('hook failed');
  });
});

// A running AudioContext renders silence (a thread wakes every few ms) for as long as the page lives: the
// tone's context is suspended once it has had nothing to play for AUDIO_REST ms.
describe('createSound: the context rests while there is nothing to play', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it('suspends AUDIO_REST ms after the tone ends; the next play resumes it', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound({ duration: 150 });
    await expect(sound.play()).resolves.toBe('played');
    const context = audio.contexts[0]!;
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST - 1);
    expect([context.suspends, context.state]).toEqual([0, 'running']);
    await vi.advanceTimersByTimeAsync(1);
    expect([context.suspends, context.state]).toEqual([1, 'suspended']);
    await expect(sound.play()).resolves.toBe('played');
    expect([context.resumes, context.state, audio.tones().length]).toEqual([1, 'running', 2]);
    // And it rests again after that tone.
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    expect([context.suspends, context.state]).toEqual([2, 'suspended']);
    expect(audio.contexts).toHaveLength(1);
  });

  it('each play puts the rest off: a stream of beeps keeps the context running', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound({ duration: 150 });
    for (let i = 0; i < 5; i++) {
      await sound.play();
      await vi.advanceTimersByTimeAsync(AUDIO_REST - 100);
    }
    const context = audio.contexts[0]!;
    expect([context.suspends, context.resumes, audio.tones().length]).toEqual([0, 0, 5]);
    await vi.advanceTimersByTimeAsync(250);
    expect(context.suspends).toBe(1);
  });

  it('a check during a tone longer than the rest does not cut it off', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound({ duration: AUDIO_REST * 3 });
    await sound.play();
    await vi.advanceTimersByTimeAsync(100);
    await expect(sound.check()).resolves.toBe('ready');
    const context = audio.contexts[0]!;
    await vi.advanceTimersByTimeAsync(AUDIO_REST * 3 - 100 + AUDIO_REST - 1);
    expect(context.suspends).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(context.suspends).toBe(1);
  });

  it('check() wakes the context once, then finds it resting and says ready without waking it', async () => {
    const audio = installAudioContext({ state: 'suspended', resume: 'allow' });
    const sound = createSound();
    await expect(sound.check()).resolves.toBe('ready');
    const context = audio.contexts[0]!;
    expect([context.resumes, context.state]).toEqual([1, 'running']);
    await vi.advanceTimersByTimeAsync(AUDIO_REST);
    expect(context.state).toBe('suspended');
    for (let i = 0; i < 3; i++) await expect(sound.check()).resolves.toBe('ready');
    expect([context.resumes, context.state, audio.tones().length]).toEqual([1, 'suspended', 0]);
    await expect(sound.play()).resolves.toBe('played');
    expect(context.resumes).toBe(2);
  });

  it('a play that comes while the context is being suspended waits for it, then resumes: its tone is not cut off', async () => {
    const audio = installAudioContext({ state: 'running', suspend: 'pend' });
    const sound = createSound({ duration: 150 });
    await sound.play();
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    const context = audio.contexts[0]!;
    expect([context.suspends, context.state]).toEqual([1, 'running']); // suspend() not done yet
    let result: SoundResult | undefined;
    const played = sound.play().then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(0);
    expect([result, audio.tones().length]).toEqual([undefined, 1]);
    context.finishSuspend();
    await played;
    expect([result, context.resumes, context.state, audio.tones().length]).toEqual(['played', 1, 'running', 2]);
  });

  it('a suspend() that never settles holds a play back 250 ms at most', async () => {
    const audio = installAudioContext({ state: 'running', suspend: 'pend' });
    const sound = createSound({ duration: 150 });
    await sound.play();
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    const context = audio.contexts[0]!;
    expect(context.suspends).toBe(1);
    let result: SoundResult | undefined;
    const played = sound.play().then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(249);
    expect([result, audio.tones().length]).toEqual([undefined, 1]);
    await vi.advanceTimersByTimeAsync(1);
    await played;
    // Still running (the suspend never completed): played without a resume.
    expect([result, context.resumes, audio.tones().length]).toEqual(['played', 0, 2]);
    // And the play after it does not wait again.
    await expect(sound.play()).resolves.toBe('played');
    expect(audio.tones()).toHaveLength(3);
  });

  it('a context the browser will not resume after all: blocked, and check() asks the browser again rather than trusting the rest', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound();
    await sound.play();
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    audio.setResume('stay');
    await expect(sound.play()).resolves.toBe('blocked');
    const context = audio.contexts[0]!;
    await expect(sound.check()).resolves.toBe('blocked');
    expect(context.resumes).toBe(2);
  });

  it('a suspend() that fails leaves the context as it is, and the next play still plays', async () => {
    const audio = installAudioContext({ state: 'running', suspend: 'reject' });
    const sound = createSound();
    await sound.play();
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    const context = audio.contexts[0]!;
    expect([context.suspends, context.state]).toEqual([1, 'running']);
    await expect(sound.play()).resolves.toBe('played');
    expect(context.resumes).toBe(0);
  });

  it('a context started by the page\'s next input (autoplay blocked it before) rests too', async () => {
    const page = installWindowEvents();
    const audio = installAudioContext({ state: 'suspended', resume: 'stay' });
    const sound = createSound();
    await expect(sound.play()).resolves.toBe('blocked');
    audio.setResume('allow');
    page.dispatch('keydown');
    const context = audio.contexts[0]!;
    expect(context.state).toBe('running');
    await vi.advanceTimersByTimeAsync(AUDIO_REST);
    expect([context.suspends, context.state]).toEqual([1, 'suspended']);
    await expect(sound.check()).resolves.toBe('ready');
    await expect(sound.play()).resolves.toBe('played');
  });

  it('checks alone (another tab plays) do not keep a running context from resting', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound();
    for (let i = 0; i < 10; i++) {
      await sound.check();
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(audio.contexts[0]!.suspends).toBe(1);
  });

  it('autoplay allowed without user activation (policy, site setting): the context that rested is resumed', async () => {
    vi.stubGlobal('navigator', { userActivation: { hasBeenActive: false } });
    const audio = installAudioContext({ state: 'running', resume: 'allow' });
    const sound = createSound();
    await expect(sound.play()).resolves.toBe('played');
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    expect(audio.contexts[0]!.state).toBe('suspended');
    await expect(sound.check()).resolves.toBe('ready');
    await expect(sound.play()).resolves.toBe('played');
  });

  it('a context suspended by the browser after a resume is asked again, not trusted as resting', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound();
    await sound.play();
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    await sound.play(); // resumed
    const context = audio.contexts[0]!;
    audio.setResume('stay');
    context.state = 'suspended'; // the browser (not this sound) suspended it
    await expect(sound.check()).resolves.toBe('blocked');
  });

  it('a browser without suspend(): no error, the context keeps running', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound();
    await sound.play();
    const context = audio.contexts[0]!;
    (context as unknown as { suspend: unknown }).suspend = undefined;
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    expect([context.state, context.suspends]).toEqual(['running', 0]);
    await expect(sound.play()).resolves.toBe('played');
  });

  it('a context not running when its rest is due (Safari\'s interrupted) is left alone', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound();
    await sound.play();
    const context = audio.contexts[0]!;
    context.state = 'interrupted' as AudioContextState;
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    expect(context.suspends).toBe(0);
  });

  it('a rested context whose output takes longer than RESUME_WAIT to start still plays (the key is taken)', async () => {
    const audio = installAudioContext({ state: 'running' });
    const sound = createSound();
    await sound.play();
    await vi.advanceTimersByTimeAsync(150 + AUDIO_REST);
    const context = audio.contexts[0]!;
    context.resume = () => new Promise<void>((done) => setTimeout(() => ((context.state = 'running'), done()), 600));
    const played = sound.play();
    await vi.advanceTimersByTimeAsync(600);
    await expect(played).resolves.toBe('played');
  });

  it('an audio file has no context to rest', async () => {
    installAudio();
    const audio = installAudioContext({ state: 'running' });
    await expect(createSound({ url: '/ding.ogg' }).play()).resolves.toBe('played');
    await vi.advanceTimersByTimeAsync(AUDIO_REST * 2);
    expect(audio.contexts).toHaveLength(0);
  });
});

describe('createSound: an audio file', () => {
  it('plays the file through one reused audio element, from the start each time', async () => {
    const elements = installAudio();
    installAudioContext({ state: 'running' }); // present, and not used for a file
    const sound = createSound({ url: '/ding.ogg', volume: 0.5 });
    await expect(sound.play()).resolves.toBe('played');
    await expect(sound.play()).resolves.toBe('played');
    expect(elements).toHaveLength(1);
    expect(elements[0]).toMatchObject({ src: '/ding.ogg', volume: 0.5, currentTime: 0, plays: 2 });
    expect(sound.plays).toBe(2);
  });

  it.each([
    ['NotAllowedError', 'blocked'],
    ['NotSupportedError', 'unsupported'],
    ['AbortError', 'unsupported'],
  ] as const)('play() rejecting with %s resolves %s', async (error, expected) => {
    installAudio(error);
    const results: SoundResult[] = [];
    const sound = createSound({ url: '/ding.ogg', onPlay: (r) => results.push(r) });
    await expect(sound.play()).resolves.toBe(expected);
    expect(results).toEqual([expected]);
    expect(sound.plays).toBe(0);
  });

  it("is 'unsupported' without Audio", async () => {
    await expect(createSound({ url: '/ding.ogg' }).play()).resolves.toBe('unsupported');
  });
});

// ---- with the bus: one tab per key -------------------------------------------------------------------

const SCOPE = 'http://odoo.test|db|2';

describe('createEffects: one tab per key', () => {
  let clock: VirtualClock;
  let browser: FakeBrowser;
  let buses: TabBus<{ id: number }>[];

  beforeEach(() => {
    clock = new VirtualClock();
    browser = new FakeBrowser({ clock });
    buses = [];
  });
  afterEach(async () => {
    const stopped = Promise.all(buses.map((bus) => bus.stop()));
    await clock.advanceAsync(100);
    await stopped;
  });

  /** Starts `n` tabs of one scope (each `tab.env(env)`), each with its effects. */
  async function openTabs(n: number, options: EffectsOptions[] | EffectsOptions = {}, env: Parameters<FakeTab['env']>[0] = {}): Promise<Effects[]> {
    const server = new FakeServer<{ id: number }>();
    buses = Array.from({ length: n }, () => createBus<{ id: number }>({ scope: SCOPE, transport: server.transport, env: browser.tab().env(env) }));
    const started = Promise.all(buses.map((bus) => bus.start()));
    await clock.advanceAsync(100);
    await started;
    return buses.map((bus, i) => createEffects(bus, Array.isArray(options) ? options[i]! : options));
  }

  /** Runs `calls` at the same moment in every tab, and lets the browser answer them (after a follower's wait). */
  async function together<T>(calls: Promise<T>[]): Promise<T[]> {
    const all = Promise.all(calls);
    await clock.advanceAsync(FOLLOWER_WAIT + 10);
    return all;
  }

  it('three tabs beep for the same notification: one tab plays it, the others skip', async () => {
    const audio = installAudioContext({ state: 'running' });
    const tabs = await openTabs(3);
    const results = await together(tabs.map((fx) => fx.beep(41)));
    expect(results.filter((r) => r === 'played')).toHaveLength(1);
    expect(results.filter((r) => r === 'skipped')).toHaveLength(2);
    expect(audio.tones()).toHaveLength(1);
    expect(tabs.map((fx) => fx.plays).reduce((a, b) => a + b)).toBe(1);
  });

  it('ten keys over three tabs: each key plays once, and asking again later (a replay) plays nothing', async () => {
    const audio = installAudioContext({ state: 'running' });
    const tabs = await openTabs(3);
    for (let id = 1; id <= 10; id++) await together(tabs.map((fx) => fx.beep(id)));
    expect(audio.tones()).toHaveLength(10);
    await clock.advanceAsync(120_000); // long after the key's Web Lock was let go: storage remembers it
    expect(await together(tabs.map((fx) => fx.beep(5)))).toEqual(['skipped', 'skipped', 'skipped']);
    expect(audio.tones()).toHaveLength(10);
    expect(tabs.map((fx) => fx.plays).reduce((a, b) => a + b)).toBe(10);
  });

  it('without Web Locks the shared storage still gives each key to one tab', async () => {
    const audio = installAudioContext({ state: 'running' });
    const tabs = await openTabs(3, {}, { locks: undefined });
    const results = await together(tabs.map((fx) => fx.beep('chat-7')));
    expect(results.filter((r) => r === 'played')).toHaveLength(1);
    expect(audio.tones()).toHaveLength(1);
  });

  it('a tab that may not play (no user gesture in it yet) leaves the key to a tab that can, even when it asks first', async () => {
    const audio = installAudioContext({ perContext: [{ state: 'suspended', resume: 'stay' }, { state: 'running' }] });
    const [background, active] = await openTabs(2);
    const results = await together([background!.beep(1), active!.beep(1)]);
    expect(results).toEqual(['blocked', 'played']);
    expect(audio.contexts.map((c) => c.oscillators.length)).toEqual([0, 1]);
    expect([background!.plays, active!.plays]).toEqual([0, 1]);
  });

  it('no tab may play: every tab answers blocked and nobody takes the key, so it can still play after a gesture', async () => {
    const audio = installAudioContext({ state: 'suspended', resume: 'stay' });
    const tabs = await openTabs(3);
    expect(await together(tabs.map((fx) => fx.beep(8)))).toEqual(['blocked', 'blocked', 'blocked']);
    audio.setResume('allow'); // the user clicked
    expect((await together(tabs.map((fx) => fx.beep(8)))).filter((r) => r === 'played')).toHaveLength(1);
    expect(audio.tones()).toHaveLength(1);
  });

  it('a file the browser refuses after all: the tab that took the key says blocked, and plays counts the run', async () => {
    installAudio('NotAllowedError');
    const tabs = await openTabs(2, { sound: { url: '/ding.ogg' } });
    expect((await together(tabs.map((fx) => fx.beep(2)))).sort()).toEqual(['blocked', 'skipped']);
    expect(tabs.map((fx) => fx.plays).sort()).toEqual([0, 1]);
  });

  it('a tab with sound: false never beeps and leaves the key to the others', async () => {
    const audio = installAudioContext({ state: 'running' });
    const [muted, loud] = await openTabs(2, [{ sound: false }, {}]);
    await expect(muted!.beep(9)).resolves.toBe('skipped');
    await expect(together([loud!.beep(9)])).resolves.toEqual(['played']);
    expect(audio.tones()).toHaveLength(1);
  });

  it('passes the sound options through (a file)', async () => {
    const elements = installAudio();
    const tabs = await openTabs(2, { sound: { url: '/ding.ogg' } });
    await together(tabs.map((fx) => fx.beep(3)));
    expect(elements.map((e) => [e.src, e.plays])).toEqual([['/ding.ogg', 1]]);
  });

  it('desktop notifications with permission: one tab shows it, tagged with the key', async () => {
    const desktop = installNotification('granted');
    const tabs = await openTabs(3);
    const results = await together(tabs.map((fx) => fx.notify(12, 'New message', { body: 'hello' })));
    expect(results.sort()).toEqual(['shown', 'skipped', 'skipped']);
    expect(desktop.shown).toEqual([{ title: 'New message', options: { tag: 'tabbus:12', body: 'hello' } }]);
    // Sound and desktop keys are separate: the same id may still beep.
    installAudioContext({ state: 'running' });
    expect((await together(tabs.map((fx) => fx.beep(12)))).filter((r) => r === 'played')).toHaveLength(1);
  });

  it.each(['default', 'denied'] as const)("permission '%s': 'denied' everywhere, never asks, and the key stays free", async (permission) => {
    const desktop = installNotification(permission);
    const tabs = await openTabs(2);
    expect(await together(tabs.map((fx) => fx.notify(4, 'x')))).toEqual(['denied', 'denied']);
    expect(desktop.shown).toEqual([]);
    expect(desktop.requests.count).toBe(0);
    desktop.grant(); // the user granted it from a click in some tab
    expect((await together(tabs.map((fx) => fx.notify(4, 'x')))).sort()).toEqual(['shown', 'skipped']);
  });

  it("'unsupported' without a Notification API, or where its constructor throws (service-worker only)", async () => {
    const tabs = await openTabs(2);
    expect(await together(tabs.map((fx) => fx.notify(1, 'x')))).toEqual(['unsupported', 'unsupported']);
    installNotification('granted', { constructorError: 'Illegal constructor' });
    expect((await together(tabs.map((fx) => fx.notify(2, 'x')))).sort()).toEqual(['skipped', 'unsupported']);
  });

  it("desktop: false skips notifications in that tab", async () => {
    const desktop = installNotification('granted');
    const [tab] = await openTabs(1, { desktop: false });
    await expect(tab!.notify(1, 'x')).resolves.toBe('skipped');
    expect(desktop.shown).toEqual([]);
  });
});

describe('createEffects with any bus', () => {
  it('needs only once(key, fn), with the keys sound:<key> and desktop:<key>', async () => {
    installAudioContext({ state: 'running' });
    installNotification('granted');
    const keys: string[] = [];
    const bus = {
      once: async (key: string, fn: () => void) => {
        keys.push(key);
        if (keys.filter((k) => k === key).length > 1) return false;
        fn();
        return true;
      },
    };
    const effects = createEffects(bus);
    expect([await effects.beep('a'), await effects.beep('a'), await effects.notify('a', 't')]).toEqual(['played', 'skipped', 'shown']);
    expect(keys).toEqual(['sound:a', 'sound:a', 'desktop:a']);
    expect(effects.plays).toBe(1);
  });
});

describe('desktopPermission', () => {
  /** A fresh copy of the module (it asks the Permissions API once per page) with `navigator` as given. */
  async function load(permissions: { query: (descriptor: { name: string }) => Promise<PermissionStatus> } | undefined) {
    vi.stubGlobal('navigator', permissions ? { permissions } : {});
    vi.resetModules();
    return (await import('../effects/desktop')).desktopPermission;
  }
  /** Counts the reads of `Notification.permission`: in Chromium each is a synchronous trip to the browser process. */
  function countReads(permission: NotificationPermission) {
    installNotification(permission);
    const reads = { count: 0 };
    Object.defineProperty(globalThis.Notification, 'permission', { get: () => (reads.count++, permission) });
    return reads;
  }

  it('reads the PermissionStatus the Permissions API keeps current, asked for once, not Notification.permission per message', async () => {
    const reads = countReads('granted');
    const status = Object.assign(new EventTarget(), { state: 'granted' as PermissionState });
    const query = vi.fn(() => Promise.resolve(status as unknown as PermissionStatus));
    const desktopPermission = await load({ query });
    // Until the query answers: Notification.permission.
    expect(desktopPermission()).toBe('granted');
    expect(reads.count).toBe(1);
    await Promise.resolve();
    for (let i = 0; i < 5; i++) expect(desktopPermission()).toBe('granted');
    // The browser updates the status object when the user changes the permission.
    status.state = 'denied';
    expect(desktopPermission()).toBe('denied');
    status.state = 'prompt';
    expect(desktopPermission()).toBe('denied');
    expect(reads.count).toBe(1);
    expect(query.mock.calls).toEqual([[{ name: 'notifications' }]]);
  });

  it.each([
    ['rejects the name', { query: () => Promise.reject(new TypeError('unknown permission name')) }],
    ['throws', { query: () => { throw new TypeError('old implementation'); } }],
    ['is missing', undefined],
  ])('where the Permissions API %s: Notification.permission, every time', async (_, permissions) => {
    const reads = countReads('granted');
    const desktopPermission = await load(permissions);
    expect(desktopPermission()).toBe('granted');
    await Promise.resolve();
    expect(desktopPermission()).toBe('granted');
    expect(reads.count).toBe(2);
  });
});

describe('requestDesktopPermission', () => {
  it('asks the browser and resolves with its answer', async () => {
    const desktop = installNotification('default', { answer: 'granted' });
    await expect(requestDesktopPermission()).resolves.toBe('granted');
    expect(desktop.requests.count).toBe(1);
  });

  it('resolves with the current permission when asking fails', async () => {
    installNotification('denied', { answer: 'reject' });
    await expect(requestDesktopPermission()).resolves.toBe('denied');
  });

  it("is 'unsupported' without a Notification API", async () => {
    await expect(requestDesktopPermission()).resolves.toBe('unsupported');
  });
});
