// The live feed: Server-Sent Events at /api/feed. EventSource reconnects by itself and sends
// Last-Event-ID; when it gives up (server gone, 401) we reopen it with ?last_event_id=
// so nothing is missed, or the server answers `resync` and we refetch the lists.

const KINDS = ['alert', 'candidate', 'decision', 'test', 'resync'];

/**
 * @param {Record<string, (data: object) => void>} handlers  by event kind, plus `open`
 * @param {(state: 'live'|'reconnecting'|'offline') => void} onState
 * @param {() => Promise<boolean>} stillLoggedIn  checked before reopening a closed stream
 * @returns {() => void} close
 */
export function openFeed(handlers, onState, stillLoggedIn) {
  let source = null;
  let lastId = null;
  let closed = false;
  let timer = 0;

  const connect = () => {
    if (closed) return;
    const url = lastId ? `/api/feed?last_event_id=${encodeURIComponent(lastId)}` : '/api/feed';
    source = new EventSource(url);
    source.onopen = () => { onState('live'); handlers.open?.(); };
    source.onerror = () => {
      if (closed) return;
      if (source.readyState === EventSource.CLOSED) {
        onState('offline');
        timer = setTimeout(async () => {
          if (await stillLoggedIn().catch(() => true)) connect();
        }, 3000);
      } else {
        onState('reconnecting');
      }
    };
    for (const kind of KINDS) {
      source.addEventListener(kind, (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
        let data = {};
        try { data = JSON.parse(event.data || '{}'); } catch { /* keep {} */ }
        handlers[kind]?.(data);
      });
    }
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
