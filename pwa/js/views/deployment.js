// One deployment for the command team and the technical lead: its authorisation (R18), the
// lifecycle (authorise, go live — refused without a review of at most 48 h, R9 — end), the
// watch list upload with per-image enrolment results (R10), the review (R9), the blue list
// and its test events (R21), the match threshold with the calibration figure (R22), and the
// reports and statistics (R19, R20). Each part appears only for the roles the API allows.

import {api, ApiError} from '../api.js';
import {h, put, when, clock, categoryLabel, message, say} from '../dom.js';
import {walkPasts} from './walkpasts.js';

/** "2", or "2 (1 below the gate: reason)" when a photo was accepted below the gate (R10). */
function photoCount(e) {
  const below = (e.photo_gates || []).filter((g) => g.below_gate.length);
  if (!below.length) return String(e.photos);
  return `${e.photos} (${below.length} below the gate: ${below.map((g) => `${g.below_gate.join(', ')} — “${g.accept_reason}”`).join('; ')})`;
}

const CATS = ['wanted', 'risk_of_harm', 'area_condition', 'vulnerable_missing'];
const WATCHLIST = ['technical', 'commander'];
const AUDITORS = ['commander', 'admin'];
const STATS = ['technical', 'commander', 'admin'];

export function renderDeployment(main, [id], ctx) {
  const role = ctx.me.role;
  const q = encodeURIComponent(id);
  const head = h('div', {}, h('p', {text: 'Loading…'}));
  const sections = h('div', {});
  main.append(h('p', {}, h('a', {href: '#/deployments', class: 'button', text: '← Deployments'})),
              head, sections);

  /** The authorisation and lifecycle part; re-read after every change below. */
  async function loadHead() {
    let dep;
    try { dep = await api(`/api/deployments/${q}`); } catch (err) {
      put(head, h('p', {class: 'msg error', text: err.message}));
      return null;
    }
    put(head,
      h('h1', {}, `${dep.name} `, h('span', {class: `badge state-${dep.state}`, text: dep.state})),
      h('section', {class: 'panel', 'aria-labelledby': 'auth-h'},
        h('h2', {id: 'auth-h', text: 'Authorisation'}),
        h('dl', {class: 'facts'}, ...[
          ['Authorising officer', dep.authorising_officer], ['Location', dep.location],
          ['Time window', `${when(dep.starts_at)} – ${when(dep.ends_at)}`],
          ['Objectives', dep.objectives], ['Case reference', dep.case_reference],
          ['Command team', dep.command_team.join('; ') || '—'],
          ['Created', `${when(dep.created_at)} by ${dep.created_by}`],
          ['Live since', when(dep.live_at)], ['Ended', when(dep.ended_at)],
          ['Watch-list version', String(dep.watchlist_version)],
        ].flatMap(([k, v]) => [h('dt', {text: k}), h('dd', {text: v})]))),
      role === 'commander' ? lifecycle(dep) : null);
    return dep;
  }

  async function load() {
    const dep = await loadHead();
    if (!dep) return;
    const parts = [];
    if (WATCHLIST.includes(role)) parts.push(watchlist(dep, 'watch'), threshold(dep));
    if (role === 'technical') parts.push(watchlist(dep, 'blue'), walkPasts(dep));
    if (STATS.includes(role) || AUDITORS.includes(role)) parts.push(reports(dep));
    parts.push(retention(dep));
    if (role === 'commander') parts.push(wipe(dep));
    put(sections, ...parts);
  }

  function lifecycle(dep) {
    const msg = message();
    const act = (path, label, cls = '') => h('button', {type: 'button', class: cls, text: label,
      onclick: async (event) => {
        const button = event.currentTarget;
        if (path === 'end' && button.dataset.armed !== 'yes') {
          button.dataset.armed = 'yes';
          button.textContent = 'Tap again to end the deployment';
          return;
        }
        try {
          await api(`/api/deployments/${q}/${path}`, {method: 'POST'});
          await load();
        } catch (err) { say(msg, err.message, 'error'); }
      }});
    const buttons = [];
    if (dep.state === 'draft') buttons.push(act('authorise', 'Authorise', 'primary'));
    if (dep.state === 'authorised') buttons.push(act('live', 'Go live', 'primary'));
    if (dep.state === 'authorised' || dep.state === 'live') buttons.push(act('end', 'End deployment', 'danger'));
    return h('section', {class: 'panel', 'aria-labelledby': 'life-h'},
      h('h2', {id: 'life-h', text: 'Lifecycle'}),
      h('p', {text: 'Going live needs a watch-list review recorded within the last 48 hours (R9).'}),
      h('div', {class: 'row'}, buttons.length ? buttons : h('span', {text: 'Nothing to do: the deployment has ended.'})),
      msg);
  }

  function watchlist(dep, kind) {
    const blue = kind === 'blue';
    const base = blue ? 'bluelist' : 'watchlist';
    const hid = `${kind}-h`;
    const table = h('div', {}, h('p', {text: 'Loading entries…'}));
    const review = h('div', {});
    const events = h('ul', {class: 'results'});
    const section = h('section', {class: `panel${blue ? ' tests' : ''}`, 'aria-labelledby': hid},
      h('h2', {id: hid, text: blue ? 'Blue list (volunteers, R21)' : 'Watch list'}),
      blue ? h('p', {text: 'Volunteers\u2019 walk-pasts produce test events for the operator; they never reach officers.'}) : review,
      table, uploader(dep, kind, () => { refresh(); loadHead(); }),
      blue ? h('h3', {text: 'Test events'}) : null, blue ? events : null);

    async function refresh() {
      try {
        const rows = await api(`/api/deployments/${q}/${base}`);
        put(table, rows.length ? h('table', {},
          h('thead', {}, h('tr', {}, ...['Reference', 'Category', 'Source', 'Reason', 'Marking', 'Photos', 'Added', '']
            .map((t) => h('th', {scope: 'col', text: t})))),
          h('tbody', {}, ...rows.map((e) => h('tr', {},
            h('td', {text: e.reference}), h('td', {text: categoryLabel(e.category)}),
            h('td', {text: e.source}), h('td', {text: e.reason}), h('td', {text: e.marking}),
            h('td', {text: photoCount(e)}), h('td', {text: `${when(e.created_at)} by ${e.created_by}`}),
            h('td', {}, dep.state === 'live' || dep.state === 'ended' ? null : h('button', {type: 'button',
              text: 'Remove', 'aria-label': `Remove entry ${e.reference}`,
              onclick: async () => {
                try { await api(`/api/watchlist/entries/${encodeURIComponent(e.id)}`, {method: 'DELETE'}); }
                catch (err) { alertLine(table, err.message); }
                refresh();
              }})))))) : h('p', {text: 'No entries yet.'}));
      } catch (err) { put(table, h('p', {class: 'msg error', text: err.message})); }
      if (!blue) refreshReview();
      if (blue) refreshEvents();
    }

    async function refreshReview() {
      const msg = message();
      let text;
      try {
        const r = await api(`/api/deployments/${q}/watchlist/review`);
        text = `Reviewed by ${r.reviewer} on ${when(r.reviewed_at)} (version ${r.watchlist_version}, `
          + `${r.entries} entries) — ${r.current ? 'covers the list as it is now' : 'the list changed since: review again'}.`;
      } catch (err) {
        text = err instanceof ApiError && err.status === 404 ? 'Not reviewed yet.' : err.message;
      }
      const button = role === 'commander' && dep.state !== 'ended' ? h('button', {type: 'button',
        class: 'primary', text: 'Record my review of this list (R9)', onclick: async () => {
          try {
            await api(`/api/deployments/${q}/watchlist/review`, {method: 'POST'});
            refreshReview();
            loadHead();
          } catch (err) { say(msg, err.message, 'error'); }
        }}) : null;
      put(review, h('h3', {text: 'Review (R9)'}), h('p', {text}), button, msg);
    }

    async function refreshEvents() {
      try {
        const rows = await api(`/api/deployments/${q}/test-events`);
        put(events, ...(rows.length ? rows.reverse().map((t) => h('li', {class: 'ok',
          text: `${clock(t.captured_at)} · camera ${t.camera_id} · score ${t.score.toFixed(3)}`}))
          : [h('li', {text: 'No test events yet.'})]));
      } catch (err) { put(events, h('li', {class: 'bad', text: err.message})); }
    }

    refresh();
    return section;
  }

  function uploader(dep, kind, done) {
    const blue = kind === 'blue';
    const p = `${kind}-up`;
    const msg = message();
    const results = h('ul', {class: 'results', 'aria-live': 'polite'});
    let files = [];
    const chosen = h('p', {text: 'No photos chosen.'});
    const fileInput = h('input', {id: `${p}-files`, type: 'file', multiple: true, accept: 'image/*'});
    const setFiles = (list) => {
      files = [...list];
      chosen.textContent = files.length ? `${files.length} photo(s): ${files.map((f) => f.name).join(', ')}` : 'No photos chosen.';
    };
    fileInput.addEventListener('change', () => setFiles(fileInput.files));
    const drop = h('div', {class: 'drop'},
      h('strong', {text: 'Drag and drop photos here'}), h('span', {text: 'or'}),
      h('label', {for: `${p}-files`, text: 'Choose photos'}), fileInput, chosen);
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      setFiles([...e.dataTransfer.files].filter((f) => f.type.startsWith('image/') || !f.type));
    });
    const ref = h('input', {id: `${p}-ref`, maxlength: '200'});
    const cat = h('select', {id: `${p}-cat`}, ...CATS.map((c) => h('option', {value: c, text: categoryLabel(c)})));
    const source = h('input', {id: `${p}-src`, maxlength: '200'});
    const reason = h('input', {id: `${p}-reason`, maxlength: '200'});
    const marking = h('input', {id: `${p}-mark`, value: 'OFFICIAL-SENSITIVE', maxlength: '200'});
    const each = h('input', {id: `${p}-each`, type: 'checkbox', checked: true});
    const submit = h('button', {type: 'submit', class: 'primary', text: blue ? 'Enrol volunteer' : 'Upload and check'});
    const form = h('form', {class: 'upload', 'aria-label': blue ? 'Add blue-list volunteers' : 'Add watch-list entries'},
      h('h3', {text: blue ? 'Add volunteers' : 'Add entries (photos are quality-checked, R10)'}),
      h('div', {class: 'grid2'},
        h('div', {}, h('label', {for: ref.id, text: 'Reference (blank: file name)'}), ref),
        blue ? null : h('div', {}, h('label', {for: cat.id, text: 'Category'}), cat),
        h('div', {}, h('label', {for: source.id, text: 'Source'}), source),
        h('div', {}, h('label', {for: reason.id, text: 'Reason'}), reason),
        h('div', {}, h('label', {for: marking.id, text: 'Protective marking'}), marking)),
      h('div', {class: 'row'}, each, h('label', {for: each.id, text: 'Each photo is a different person'})),
      drop, h('div', {class: 'row'}, submit), msg, results);

    // R10: a soft refusal (small, turned, blurred or unclear face) can be accepted with a
    // recorded reason; the checkbox and the reason field appear only after one.
    let pending = [];
    const acceptBox = h('input', {id: `${p}-accept`, type: 'checkbox'});
    const acceptReason = h('input', {id: `${p}-accept-reason`, maxlength: '500',
      placeholder: 'Why this photo should be enrolled anyway (recorded and audited; no personal details)'});
    const acceptButton = h('button', {type: 'button', text: 'Enrol the refused photos anyway'});
    const acceptMsg = message();
    const acceptPanel = h('div', {class: 'accept', hidden: true},
      h('p', {text: 'Some photos were refused softly: the face can still be matched, less often (the expected cost is shown with each). Enrol them anyway only if no better photo is available.'}),
      h('div', {class: 'row'}, acceptBox, h('label', {for: acceptBox.id, text: 'Enrol below the quality gate, with a reason'})),
      h('div', {}, h('label', {for: acceptReason.id, text: 'Reason for accepting'}), acceptReason),
      h('div', {class: 'row'}, acceptButton));
    form.append(acceptPanel, acceptMsg);  // the outcome stays visible once the panel closes

    const showResult = (r) => {
      results.append(h('li', {class: r.ok ? 'ok' : r.acceptable ? 'warn' : 'bad',
        text: `${r.file}: ${r.ok ? (r.accepted ? 'enrolled below the gate' : 'enrolled') : 'refused'} — ${r.message}`}));
    };
    const setPending = (list) => {
      pending = list;
      acceptPanel.hidden = !pending.length;
      acceptBox.checked = false;
      acceptReason.value = '';
      if (pending.length) say(acceptMsg, `${pending.length} photo(s) can be accepted: ${pending.map((x) => x.file.name).join(', ')}.`);
    };

    async function send(photos, reference, {entryId = null, acceptWith = null} = {}) {
      const data = new FormData();
      if (!entryId) {
        data.append('reference', reference);
        data.append('category', blue ? 'blue' : cat.value);
        data.append('source', source.value.trim());
        data.append('reason', reason.value.trim());
        data.append('marking', marking.value.trim() || 'OFFICIAL-SENSITIVE');
      }
      if (acceptWith !== null) data.append('accept_reason', acceptWith);
      for (const f of photos) data.append('photos', f, f.name);
      const path = entryId ? `/api/watchlist/entries/${encodeURIComponent(entryId)}/photos`
        : `/api/deployments/${q}/${blue ? 'bluelist' : 'watchlist'}`;
      try {
        return await api(path, {method: 'POST', form: data});
      } catch (err) {
        if (err instanceof ApiError && err.data && Array.isArray(err.data.results)) return err.data;
        if (acceptWith !== null && err instanceof ApiError && err.status === 400) throw err;
        const why = err.status === 413 ? 'too large for the server' : err.message;
        return {results: photos.map((f) => ({file: f.name, ok: false, message: why}))};
      }
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!files.length) { say(msg, 'Choose or drop at least one photo.', 'error'); return; }
      submit.disabled = true;
      results.replaceChildren();
      setPending([]);
      say(acceptMsg, '');
      say(msg, 'Checking photos…');
      const stem = (name) => name.replace(/\.[^.]+$/, '');
      const batches = each.checked
        ? files.map((f, i) => [[f], ref.value.trim() ? `${ref.value.trim()}-${i + 1}` : stem(f.name)])
        : [[files, ref.value.trim() || stem(files[0].name)]];
      let ok = 0;
      let bad = 0;
      const soft = [];
      for (const [photos, reference] of batches) {
        const out = await send(photos, reference);
        for (const r of out.results) {
          if (r.ok) ok += 1; else bad += 1;
          showResult(r);
          const file = photos.find((f) => f.name === r.file);
          if (!r.ok && r.acceptable && file) soft.push({file, reference, entryId: out.entry_id || null});
        }
      }
      say(msg, `${ok} photo(s) enrolled, ${bad} refused.`, bad ? 'error' : 'ok');
      setPending(soft);
      submit.disabled = false;
      done();
    });

    acceptButton.addEventListener('click', async () => {
      const why = acceptReason.value.trim();
      if (!acceptBox.checked) { say(acceptMsg, 'Tick the box to enrol below the quality gate.', 'error'); return; }
      if (!why) { say(acceptMsg, 'Give the reason for accepting these photos.', 'error'); return; }
      acceptButton.disabled = true;
      let ok = 0;
      const left = [];
      for (const item of pending) {
        let out;
        try {
          out = await send([item.file], item.reference, {entryId: item.entryId, acceptWith: why});
        } catch (err) {
          say(acceptMsg, err.message, 'error');
          acceptButton.disabled = false;
          return;
        }
        for (const r of out.results) {
          showResult(r);
          if (r.ok) ok += 1; else left.push(item);
        }
      }
      acceptButton.disabled = false;
      setPending(left);
      say(acceptMsg, `${ok} photo(s) enrolled below the gate with your reason.`, left.length ? 'error' : 'ok');
      done();
    });
    return form;
  }

  function threshold(dep) {
    const msg = message();
    const box = h('div', {}, h('p', {text: 'Loading…'}));
    const section = h('section', {class: 'panel', 'aria-labelledby': 'thr-h'},
      h('h2', {id: 'thr-h', text: 'Match threshold (R22)'}), box, msg);
    (async () => {
      let s;
      try { s = await api(`/api/deployments/${q}/settings`); } catch (err) { say(msg, err.message, 'error'); return; }
      const cal = s.calibration;
      const estimate = h('p', {class: 'estimate'});
      const input = h('input', {id: 'thr-value', type: 'number', step: '0.001', min: String(s.floor), max: '1',
        value: s.match_threshold === null ? '' : String(s.match_threshold), placeholder: 'Engine default'});
      const explain = () => {
        if (!cal) { estimate.textContent = 'No calibration figure is configured on this server (pinchpoint calibrate).'; return; }
        const base = `Calibration: false-positive identification rate ${(cal.fpir * 100).toFixed(3)} % at `
          + `threshold ${cal.threshold} on ${cal.faces} non-watch-list faces${cal.source ? ` (${cal.source})` : ''}.`;
        const v = input.value.trim() === '' ? null : Number(input.value);
        let verdict = ' The engine default is used.';
        if (v !== null && v < s.floor) verdict = ` ${v} is below the floor ${s.floor}: the server refuses it (R3).`;
        else if (v !== null && v < cal.threshold) verdict = ` ${v} is below the calibrated point: expect MORE false alerts than that.`;
        else if (v !== null) verdict = ` ${v} is at or above the calibrated point: at most that rate, fewer true alerts.`;
        estimate.textContent = base + verdict;
      };
      input.addEventListener('input', explain);
      explain();
      // kernel/domain/thresholds.py: the technical lead tunes before going live; a live
      // deployment's threshold changes only by the commander (the server enforces both).
      const canEdit = role === 'commander' || (role === 'technical' && dep.state !== 'live');
      const save = h('button', {type: 'button', class: 'primary', text: 'Save threshold', onclick: async () => {
        const v = input.value.trim();
        try {
          const out = await api(`/api/deployments/${q}/settings`, {method: 'PUT',
            body: {match_threshold: v === '' ? null : Number(v)}});
          say(msg, `Saved: ${out.match_threshold ?? 'engine default'}.`, 'ok');
        } catch (err) { say(msg, err.message, 'error'); }
      }});
      if (!canEdit) input.disabled = true;
      const who = role === 'technical' && dep.state === 'live'
        ? h('p', {class: 'hint', text: 'This deployment is live: only the commander may change its threshold (R22).'})
        : null;
      put(box, h('label', {for: 'thr-value', text: `Cosine threshold, ${s.floor}–1 (blank: engine default)`}),
          h('div', {class: 'row'}, input, canEdit ? save : null), who, estimate);
    })();
    return section;
  }

  function reports(dep) {
    const box = h('div', {});
    const msg = message();
    const parts = [h('h2', {id: 'rep-h', text: 'Reports and statistics'}), box];
    if (AUDITORS.includes(role)) {
      parts.push(h('div', {class: 'row'},
        h('a', {class: 'button', href: `/api/deployments/${q}/report?format=csv`, download: `match-report-${dep.id}.csv`,
                text: 'Download match report (CSV)'}),
        h('a', {class: 'button', href: `/api/deployments/${q}/report?format=json`, download: `match-report-${dep.id}.json`,
                text: 'Download match report (JSON)'}),
        h('button', {type: 'button', text: 'Verify the audit log', onclick: async () => {
          try {
            const r = await api('/api/audit/verify');
            say(msg, r.ok ? `Audit log intact: ${r.rows} rows.` : `Audit log BROKEN at row ${r.first_bad_seq}: ${r.message}`,
                r.ok ? 'ok' : 'error');
          } catch (err) { say(msg, err.message, 'error'); }
        }})), msg);
    }
    if (STATS.includes(role)) {
      parts.push(h('p', {}, h('a', {class: 'button', href: `#/deployments/${q}/record`,
                                    text: 'Published deployment record (print, CSV)'})));
      api(`/api/deployments/${q}/stats`).then((s) => {
        const rate = s.blue_detection_rate === null ? '—' : `${(s.blue_detection_rate * 100).toFixed(0)} %`;
        put(box, h('dl', {class: 'facts'}, ...[
          ['Faces seen', s.faces_seen], ['Candidates', s.candidates], ['Confirmed', s.confirmed],
          ['Rejected', s.rejected],
          ['Outcomes', Object.entries(s.outcomes).map(([k, v]) => `${k}: ${v}`).join(', ') || '—'],
          ['Blue-list walks', `${s.blue_walks_detected} detected of ${s.blue_walks_declared} declared`],
          ['Blue-list detection rate', rate],
        ].flatMap(([k, v]) => [h('dt', {text: k}), h('dd', {text: String(v)})])));
      }).catch((err) => put(box, h('p', {class: 'msg error', text: err.message})));
    }
    return h('section', {class: 'panel', 'aria-labelledby': 'rep-h'}, ...parts);
  }

  function retention(dep) {
    // The live status (what is kept, when it falls due, every disposal) for the roles the
    // API allows; the rules themselves for everyone.
    const status = h('div', {'aria-live': 'polite'});
    if (STATS.includes(role)) {
      api(`/api/deployments/${encodeURIComponent(dep.id)}/retention`).then((r) => {
        const due = r.no_further_action_due ? new Date(r.no_further_action_due).toLocaleString() : 'when the deployment ends, plus 30 days';
        put(status,
          h('dl', {class: 'facts'}, ...[
            ['Alerts kept', r.retained_alerts], ['On legal hold', r.held_alerts],
            ['No-further-action data deleted', due],
          ].flatMap(([k, v]) => [h('dt', {text: k}), h('dd', {text: String(v)})])),
          r.disposals.length
            ? h('table', {class: 'disposals'},
                h('caption', {text: 'Disposal records (R17)'}),
                h('thead', {}, h('tr', {}, ...['When', 'What', 'How many', 'Rule'].map((t) => h('th', {scope: 'col', text: t})))),
                h('tbody', {}, ...r.disposals.map((d) => h('tr', {},
                  h('td', {text: new Date(d.at).toLocaleString()}), h('td', {text: d.kind}),
                  h('td', {text: String(d.count)}), h('td', {text: d.rule})))))
            : h('p', {text: 'Nothing has been destroyed yet.'}));
      }).catch((err) => put(status, h('p', {class: 'msg error', text: err.message})));
    }
    return h('section', {class: 'panel', 'aria-labelledby': 'ret-h'},
      h('h2', {id: 'ret-h', text: 'Retention'}), status,
      h('ul', {},
        h('li', {text: 'Faces that match nothing are discarded at once; nothing of them is kept (R3).'}),
        h('li', {text: 'Alerts with no further action: deleted 30 days after the deployment (R13).'}),
        h('li', {text: 'Arrests and legal holds: kept until released by an authorised user (R14).'}),
        h('li', {text: 'False-positive stops: kept 30 days for complaints and access requests (R15).'}),
        h('li', {text: 'The watch list is destroyed after the deployment, except entries tied to retained alerts (R12).'})));
  }

  function wipe(dep) {
    // R16: everything of the deployment at once, its key too (R24), in any state (the server's
    // rule). The name typed exactly and a reason (audited) stand in for a second pair of eyes.
    const msg = message();
    const typed = h('input', {id: 'wipe-name', autocomplete: 'off', spellcheck: 'false', maxlength: '200'});
    const reason = h('textarea', {id: 'wipe-reason', maxlength: '500',
      placeholder: 'e.g. authorisation withdrawn, ref. DPO-2026-14 (no personal details)'});
    const submit = h('button', {type: 'submit', class: 'danger', text: 'Wipe this deployment now', disabled: true});
    const ready = () => { submit.disabled = typed.value !== dep.name || !reason.value.trim(); };
    typed.addEventListener('input', ready);
    reason.addEventListener('input', ready);
    const form = h('form', {class: 'panel wipe', 'aria-labelledby': 'wipe-h'},
      h('h2', {id: 'wipe-h', text: 'Wipe deployment (R16)'}),
      h('p', {text: 'Destroys every alert (legal holds included), image, watch-list entry and statistic of this deployment and its data key'
        + `${dep.state === 'live' ? ' — it is LIVE now' : ''}. It cannot be undone; only the audit log and the disposal counts remain.`}),
      h('label', {for: typed.id}, 'Type the deployment’s name to confirm: ', h('strong', {text: dep.name})), typed,
      h('label', {for: reason.id, text: 'Reason (recorded in the audit log)'}), reason,
      h('div', {class: 'row'}, submit), msg);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const out = await api(`/api/deployments/${q}/wipe`, {method: 'POST',
          body: {confirm_name: typed.value, reason: reason.value.trim()}});
        const total = out.disposals.reduce((n, d) => n + d.count, 0);
        put(main, h('section', {class: 'panel', 'aria-labelledby': 'wiped-h'},
          h('h1', {id: 'wiped-h', text: 'Deployment wiped'}),
          h('p', {class: 'msg ok', text: `${dep.name}: ${total} records destroyed (${out.disposals.map((d) => `${d.kind} ${d.count}`).join(', ')}); the reason is in the audit log.`}),
          h('p', {}, h('a', {href: '#/deployments', class: 'button', text: '← Deployments'}))));
      } catch (err) {
        say(msg, `Not wiped: ${err.message}`, 'error');
        ready();
      }
    });
    return form;
  }

  function alertLine(el, text) { el.prepend(h('p', {class: 'msg error', text})); }

  load();
}
