/** What {@link playTone} plays: pitch in Hz, length in ms, peak volume from 0 to 1. */
export interface Tone {
  readonly frequency: number;
  readonly duration: number;
  readonly volume: number;
}

/** The gain the tone starts and ends at: an exponential ramp cannot reach 0, and this is inaudible. */
const SILENT = 1e-4;
/** The fade-in, in s: a tone that starts at full volume clicks. */
const ATTACK = 0.01;

/** Plays a short beep on a running `context`: an oscillator through a gain envelope (fade in, exponential decay). */
export function playTone(context: AudioContext, tone: Tone): void {
  const start = context.currentTime;
  const length = tone.duration / 1000;
  const attack = Math.min(ATTACK, length / 2);
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  oscillator.frequency.value = tone.frequency;
  gain.gain.setValueAtTime(SILENT, start);
  gain.gain.exponentialRampToValueAtTime(Math.max(tone.volume, SILENT), start + attack);
  gain.gain.exponentialRampToValueAtTime(SILENT, start + length);
  oscillator.connect(gain).connect(context.destination);
  // The context lives as long as the page; its finished nodes should not.
  oscillator.onended = () => gain.disconnect();
  oscillator.start(start);
  oscillator.stop(start + length);
}
