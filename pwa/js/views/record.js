// The published deployment record (R20): the non-personal statistics a force publishes after a
// deployment, as a printable page (the print stylesheet drops the app's chrome) with its CSV.
// The figures are the server's record (GET /api/deployments/{id}/published), shown as they
// come: no person, reference or image is in it, so none can appear here.

import {api} from '../api.js';
import {h, put, when, categoryLabel, outcomeLabel} from '../dom.js';

// the periods of kernel/domain/bluelist_scores.py, by the walk's start against the live run
const PERIOD_LABELS = {before: 'before going live', during: 'while live', after: 'after the end'};
const pct = (x, digits = 1) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)} %`);

function table(caption, rows, key) {
  return h('table', {class: 'record', dataset: {part: key}},
    h('caption', {text: caption}),
    h('tbody', {}, ...rows.map(([label, value, field]) => h('tr', {},
      h('th', {scope: 'row', text: label}),
      h('td', {text: String(value), dataset: field ? {field} : {}})))));
}

export function renderRecord(main, [id]) {
  const q = encodeURIComponent(id);
  const body = h('div', {}, h('p', {text: 'Loading the record…'}));
  main.append(h('p', {class: 'back no-print'},
    h('a', {href: `#/deployments/${q}`, class: 'button', text: '← Deployment'})), body);
  api(`/api/deployments/${q}/published`).then((r) => {
    const window_ = r.live_from
      ? `${when(r.live_from)} – ${r.live_to ? when(r.live_to) : 'still live'}`
      : 'never live';
    const categories = r.watchlist_destroyed
      ? [['By category', 'not available: the watch list was destroyed after the deployment (R12)', null]]
      : Object.entries(r.watchlist_by_category).map(([c, n]) => [categoryLabel(c), n, `watchlist_${c}`]);
    const outcomes = Object.entries(r.outcomes).filter(([o]) => !['arrested', 'stopped_not_the_person'].includes(o))
      .map(([o, n]) => [o === 'no_outcome_recorded' ? 'No outcome recorded' : outcomeLabel(o), n, `outcome_${o}`]);
    const cal = r.calibrated_fpir === null
      ? 'no calibration figure is configured on this server'
      : `${pct(r.calibrated_fpir, 3)} false-positive identification rate at threshold ${r.calibration_threshold} `
        + `on ${r.calibration_faces} non-watch-list faces${r.calibration_source ? ` (${r.calibration_source})` : ''}`;
    const judged = r.calibrated_fpir === null ? '' : r.threshold >= r.calibration_threshold
      ? ' — the deployment matched at or above the calibrated point: at most that rate.'
      : ' — the deployment matched below the calibrated point: expect more false alerts than that rate.';
    put(body, h('article', {class: 'panel published', 'aria-labelledby': 'rec-h'},
      h('h1', {id: 'rec-h', text: `Deployment record — ${r.location}, ${r.date}`}),
      r.state === 'ended' || r.state === 'closed' ? null
        : h('p', {class: 'msg error', text: `Provisional: the deployment is ${r.state}; the figures are so far.`}),
      h('p', {text: 'Live facial recognition deployment: the non-personal statistics published after the deployment (R20). '
        + 'No person is named and no image is kept in this record.'}),
      table('Where and when', [
        ['Date', r.date, 'date'], ['Location', r.location, 'location'],
        ['Planned window', `${when(r.planned_from)} – ${when(r.planned_to)}`, null],
        ['Live', window_, null]], 'when'),
      table('Watch list', [['Entries', r.watchlist_size, 'watchlist_size'], ...categories], 'watchlist'),
      table('Results', [
        ['Faces seen', r.faces_seen, 'faces_seen'],
        ['Candidates (sightings: possible matches shown to the operator)', r.candidates, 'candidates'],
        ['People matched (a person\'s repeated sightings are one episode)', r.people_matched, 'people_matched'],
        ['People alerted (episodes the operator confirmed)', r.people_alerted, 'people_alerted'],
        ['People rejected (episodes the operator rejected)', r.people_rejected, 'people_rejected'],
        ['Alerts confirmed by the operator (one per person alerted)', r.alerts_confirmed, 'alerts_confirmed'],
        ['Sightings confirmed (alerts and their "seen again" updates)', r.sightings_confirmed, 'sightings_confirmed'],
        ['Candidates rejected (sightings)', r.candidates_rejected, 'candidates_rejected'],
        ['False alerts (stopped, not the person)', r.false_alerts, 'false_alerts'],
        ['Engagements (people stopped)', r.engagements, 'engagements'],
        ['Arrests', r.arrests, 'arrests'], ...outcomes], 'results'),
      table('Accuracy checks', [
        ['Blue-list walk-pasts detected', `${r.blue_walks_detected} of ${r.blue_walks_declared}`, null],
        ['Blue-list detection rate', pct(r.blue_detection_rate, 0), 'blue_detection_rate'],
        ...Object.entries(r.blue_by_period || {}).map(([p, b]) => [
          `Blue-list walk-pasts ${PERIOD_LABELS[p] || p}`,
          `${b.detected} of ${b.declared}${b.rate === null ? '' : ` (${pct(b.rate, 0)})`}`, null]),
        ['Match threshold', `${r.threshold} (${r.threshold_set_by === 'deployment' ? 'set for this deployment' : 'system default'})`, 'threshold'],
        ['Calibration', cal + judged, null]], 'accuracy'),
      h('p', {class: 'small', text: `Record made ${when(r.generated_at)}; audit log head ${r.audit_head} `
        + '(check with pinchpoint audit verify --head).'}),
      h('div', {class: 'row no-print'},
        h('button', {type: 'button', class: 'primary', text: 'Print', onclick: () => window.print()}),
        h('a', {class: 'button', href: `/api/deployments/${q}/published?format=csv`,
                download: `deployment-record-${r.deployment_id}.csv`, text: 'Download CSV'}))));
  }).catch((err) => put(body, h('p', {class: 'msg error', text: err.message})));
}
