// The app's version as the device list shows it: the service worker's shell version (pwa/sw.js
// VERSION; change both together).
export const APP_VERSION = 'pinchpoint-shell-v11';
