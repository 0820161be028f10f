// Sound and vibration when a confirmed alert arrives. Browsers allow audio only after a user
// gesture, so the AudioContext is created (or resumed) on the first tap or key press.

let audio = null;

function unlock() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume();
  } catch { audio = null; }
}
addEventListener('pointerdown', unlock, {passive: true});
addEventListener('keydown', unlock);

/** Two short beeps and a vibration pattern; silent where the device refuses. */
export function sound() {
  try {
    if (audio && audio.state === 'running') {
      const t = audio.currentTime;
      for (const start of [0, 0.25]) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = 'square';
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, t + start);
        gain.gain.exponentialRampToValueAtTime(0.3, t + start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + start + 0.18);
        osc.connect(gain).connect(audio.destination);
        osc.start(t + start);
        osc.stop(t + start + 0.2);
      }
    }
  } catch { /* no audio on this device */ }
  try { navigator.vibrate?.([200, 100, 200]); } catch { /* no vibration */ }
}
