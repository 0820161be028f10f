// Sound and vibration when a confirmed alert arrives. Browsers allow audio only after a user
// gesture, so the AudioContext is created (or resumed) on the first tap or key press.
//
// The officer may mute it (issue 14): the officer screen's toggle records each mute and
// unmute on the server first (audited, R19), then calls setMuted. Muted, a new alert still
// shows (card, banner, "New alert" link), only silently. The state lives in this page only:
// a reload or a new login starts loud again, the safe default for a device that may change
// hands. <html data-alarms> / data-silenced count what sound() did (the browser tests read them).

let audio = null;
let muted = false;

function unlock() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume();
  } catch { audio = null; }
}
addEventListener('pointerdown', unlock, {passive: true});
addEventListener('keydown', unlock);

/** Mute (true) or unmute the alarm; the caller has recorded it (POST /api/devices/current/alarm). */
export function setMuted(value) {
  muted = Boolean(value);
  document.documentElement.dataset.alarmMuted = String(muted);
}

export const isMuted = () => muted;

function count(name) {
  const data = document.documentElement.dataset;
  data[name] = String((Number(data[name]) || 0) + 1);
}

/** Two short beeps and a vibration pattern; silent where the device refuses, or muted. */
export function sound() {
  if (muted) { count('silenced'); return; }
  count('alarms');
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
