// hadron's dashboard: draws the view document the daemon pushes over server-sent
// events (GET /ui/events). Everything is built from the document with textContent;
// the only markup taken as is are the timeline and chart pictures, which the daemon
// draws with every text escaped. Resume and Abort go to the daemon, which carries
// them out when it leads and forwards them to the leader otherwise; the API's role
// table decides whether the token may (role operate).
'use strict';

const $ = (id) => document.getElementById(id);

// el builds an element: attrs (with "text" for its text), then children.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function replace(id, ...kids) { $(id).replaceChildren(...kids.flat()); }

function picture(svg, label) {
  const f = el('figure', { class: 'tl', 'aria-label': label });
  f.innerHTML = svg; // drawn and escaped by the daemon (internal/timeline, chart.go)
  return f;
}

let view = null;

// last holds what each section was drawn from: a section whose data did not change
// is left alone, so that a reader's place (and a screen reader's) is kept.
const last = {};
function section(name, data, fn, v) {
  const s = JSON.stringify(data);
  if (last[name] === s) return;
  last[name] = s;
  fn(v);
}

function draw(v) {
  view = v;
  $('who').textContent = `daemon ${v.daemon} · signed in as ${v.caller.name} (${v.caller.roles.join('+')})`;
  section('regions', v.regions, drawRegions, v);
  drawRuns(v);
  section('matrices', v.apps.map((a) => a.matrix), drawMatrices, v);
  section('apps', v.apps, drawApps, v);
  section('sets', v.mirrorSets, drawSets, v);
  section('etcd', v.etcd, drawEtcd, v);
  section('ledger', [v.ledger, v.charts], drawLedger, v);
}

function drawRegions(v) {
  replace('regions', v.regions.map((r) => el('div', { class: 'region' },
    el('h3', { text: `region ${r.name}` }),
    el('div', { class: 'sites' }, r.sites.map((s) => el('div', {
      class: `site ${s.witness && s.health === 'witness' ? 'witness' : s.health}`,
      'data-site': s.name, 'data-health': s.health,
      'aria-label': `site ${s.name}: ${s.health}${s.leader ? ', leader' : ''}`,
    },
    el('strong', { text: s.name }), ' ',
    el('span', { class: 'badge ' + (s.health === 'up' ? 'ok' : s.health === 'down' ? 'bad' : 'warn'), text: s.health }),
    s.leader ? [' ', el('span', { class: 'badge', text: 'leader' })] : null,
    el('div', { class: 'small', text: s.zones.length ? `zones ${s.zones.join(', ')}` : 'no zones' }),
    s.active.length ? el('div', { text: `active: ${s.active.join(', ')}` }) : null,
    s.answering ? el('div', { class: 'small', text: 'this page is served here' }) : null))))));
}

// drawRuns keeps each run's article (and so its buttons and the keyboard focus on
// them) while the run is open, and redraws only its text and timeline.
const runArticles = new Map();
function drawRuns(v) {
  const keep = new Set(v.runs.map((r) => `${r.app}/${r.id}`));
  for (const [k, a] of runArticles) if (!keep.has(k)) { a.remove(); runArticles.delete(k); }
  $('noruns').hidden = v.runs.length > 0;
  for (const r of v.runs) {
    const key = `${r.app}/${r.id}`;
    let a = runArticles.get(key);
    if (!a) {
      a = el('article', { 'data-run': key, 'aria-labelledby': `run-${r.app}` },
        el('h3', { id: `run-${r.app}` }), el('p', { class: 'small who' }), el('p', { class: 'bad err', role: 'alert' }),
        el('div', { class: 'pic' }),
        el('div', { class: 'buttons' },
          el('button', { type: 'button', class: 'primary', 'data-verb': 'resume', text: 'Resume…' }),
          el('button', { type: 'button', class: 'danger', 'data-verb': 'abort', text: 'Abort…' })),
        el('p', { class: 'small cannot', text: 'Your token has no role operate: the daemon will refuse Resume and Abort.' }));
      runArticles.set(key, a);
      $('runlist').append(a);
    }
    a.className = `run ${r.status}`;
    a.dataset.done = String(r.done);
    a.dataset.status = r.status;
    a.querySelector('h3').textContent = `${r.app}: ${r.kind} ${r.from} → ${r.to} — ${r.status}, ${r.done} of ${r.steps} steps done`;
    a.querySelector('.who').textContent = `run ${r.id}, decided by ${r.who}`;
    a.querySelector('.err').textContent = r.error || '';
    a.querySelector('.err').hidden = !r.error;
    a.querySelector('.cannot').hidden = v.caller.canOperate;
    if (a.dataset.svg !== r.svg) {
      a.dataset.svg = r.svg;
      a.querySelector('.pic').replaceChildren(picture(r.svg, `timeline of ${r.app}'s ${r.kind}`));
    }
  }
}

function drawMatrices(v) {
  replace('matrices', v.apps.map((a) => {
    const m = a.matrix;
    return el('div', { class: 'scroll' }, el('table', { 'data-app': a.name },
      el('caption', { text: `${a.name}: observers (rows) × sites (columns)` }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'observer' }), m.sites.map((s) => el('th', { scope: 'col', text: s })))),
      el('tbody', {},
        m.observers.map((o, i) => el('tr', {}, el('th', { scope: 'row', text: o }), m.cells[i].map((c, j) => el('td', {
          class: `num cell-${c.state}`, 'data-observer': o, 'data-site': m.sites[j], 'data-state': c.state, title: c.error || '',
          text: c.state === 'none' ? 'no probe' : `${c.state === 'ok' ? 'ok' : 'FAILED'} ${c.latencyMs.toFixed(1)} ms`,
        })))),
        el('tr', {}, el('th', { scope: 'row', text: 'quorum verdict' }), m.verdicts.map((vd, j) => el('td', {
          class: `v-${vd}`, 'data-verdict-site': m.sites[j], text: vd,
        }))))));
  }));
}

function drawApps(v) {
  replace('applist', v.apps.map((a) => el('div', { class: 'card' },
    el('h3', { text: a.name }),
    el('dl', {},
      el('dt', { text: 'active site' }), el('dd', { text: a.active }),
      el('dt', { text: 'stand-by style' }), el('dd', { text: a.standby || '—' }),
      el('dt', { text: 'DNS' }), el('dd', { text: a.dnsName ? `${a.dnsName} → ${a.answers.join(', ') || 'no answer'} (${a.strategy})` : '—' })),
    el('ul', { class: 'findings', 'aria-label': `findings for ${a.name}` }, a.findings.map((f) => finding(f.level, f.text))),
    readiness(a))));
}

// finding is one line of a list of findings: its level as a sign for the eye and in
// words for a screen reader.
const levelWords = { ok: 'ok', warn: 'warning', bad: 'failed' };
function finding(level, text, attrs, ...kids) {
  return el('li', { class: level, 'data-level': level, ...attrs },
    el('span', { 'aria-hidden': 'true', text: `${level === 'ok' ? '✓' : level === 'bad' ? '✗' : '!'} ` }),
    el('span', { class: 'sr', text: `${levelWords[level] || level}: ` }), text, ...kids);
}

// readiness is the leader's latest check of the application's stand-bys: the
// findings of `hadron check readiness` and the object parity per stand-by site.
function readiness(a) {
  const r = a.readiness;
  if (!r) {
    return el('p', { class: 'small', 'data-readiness': a.name,
      text: 'Stand-by readiness: no report yet (the leader checks the applications whose sites are Kubernetes clusters every 30 s).' });
  }
  return el('div', { class: 'readiness', 'data-readiness': a.name },
    el('h4', { text: `Stand-by readiness against ${r.active}` }),
    el('p', { class: r.stale ? 'small warn' : 'small', text: `checked by ${r.leader} at ${new Date(r.at).toLocaleTimeString()}${r.stale ? ' — old: no leader has checked since' : ''}` }),
    r.error ? el('p', { class: 'warn', text: `not checked: ${r.error}` }) : null,
    el('ul', { class: 'findings', 'aria-label': `readiness findings for ${a.name}` },
      r.findings.map((f) => finding(f.level, f.text))),
    el('h4', { text: 'Object parity per stand-by site' }),
    r.parity.length ? el('ul', { class: 'findings', 'aria-label': `object parity for ${a.name}` },
      r.parity.map((p) => finding(p.level, `${p.site}: ${p.summary}`, { 'data-parity-site': p.site },
        p.off.length ? el('ul', { 'aria-label': `objects to act on at ${p.site}` }, p.off.map((o) => el('li', { text: o }))) : null)))
      : el('p', { class: 'small', text: 'no parity result' }));
}

function drawSets(v) {
  if (!v.mirrorSets.length) { replace('sets', el('p', { text: 'No mirror set.' })); return; }
  replace('sets', v.mirrorSets.map((s) => el('div', { class: 'scroll' },
    el('h3', { text: `${s.name} (${s.apps.join(', ')}) — primary ${s.primary || 'none'}` }),
    el('p', { class: 'small', text: `loss mode: ${s.bound}` }),
    s.error ? el('p', { class: 'bad', text: s.error }) : null,
    el('table', {},
      el('thead', {}, el('tr', {}, ['member', 'site', 'role', 'state', 'sync', 'lag (bytes)', 'lag (s)', 'error'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, s.members.map((m) => el('tr', {},
        el('th', { scope: 'row', text: m.name }), el('td', { text: m.site }), el('td', { text: m.role }),
        el('td', { class: m.state === 'primary' || m.state === 'streaming' ? 'ok' : 'warn', text: m.state }),
        el('td', { text: m.sync ? 'sync' : 'async' }), el('td', { class: 'num', text: String(m.lagBytes) }),
        el('td', { class: 'num', text: m.lagSeconds.toFixed(1) }), el('td', { class: 'bad', text: m.error || '' }))))))));
}

function drawEtcd(v) {
  const e = v.etcd;
  replace('etcd', el('dl', {},
    el('dt', { text: 'quorum' }), el('dd', { class: e.quorum ? 'ok' : 'bad', text: e.quorum ? 'yes' : `lost${e.error ? ': ' + e.error : ''}` }),
    el('dt', { text: 'self-fenced' }), el('dd', { class: e.selfFenced ? 'bad' : '', text: e.selfFenced ? 'yes' : 'no' }),
    el('dt', { text: 'leader' }), el('dd', { text: e.leader ? `${e.leader} (fencing token ${e.token})` : 'none' }),
    el('dt', { text: 'members' }), el('dd', { text: (e.members || []).map((m) => m.name + (m.raftLeader ? ' (raft leader)' : '')).join(', ') || '—' })));
}

function drawLedger(v) {
  replace('charts', v.charts.map((c) => el('div', { class: 'card' }, el('h3', { text: `${c.app}: RTO (bars) and RPO in transactions (under them)` }), picture(c.svg, `RTO and RPO of ${c.app}`))));
  if (!v.ledger.length) { replace('ledgerlist', el('p', { text: 'No run has closed yet.' })); return; }
  replace('ledgerlist', el('table', {},
    el('caption', { class: 'sr', text: 'Closed runs, newest first' }),
    el('thead', {}, el('tr', {}, ['decided', 'application', 'run', 'from → to', 'by', 'status', 'RTO', 'system RTO', 'RPO', 'steps'].map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, v.ledger.map((r) => el('tr', {},
      el('td', { text: new Date(r.decided).toLocaleString() }), el('td', { text: r.app }),
      el('td', {}, el('a', { href: r.report, text: `${r.kind} ${r.id}` })),
      el('td', { text: `${r.from} → ${r.to}` }), el('td', { text: r.who }), el('td', { text: r.status }),
      el('td', { class: 'num', text: r.rto }), el('td', { class: 'num', text: r.systemRTO }), el('td', { class: 'num', text: r.rpo }),
      el('td', { class: 'small', text: r.steps.join(' · ') }))))));
}

// Resume / Abort: a dialog asks for confirmation and a reason, then the API decides.
let pending = null;
document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-verb]');
  if (!b) return;
  const art = b.closest('[data-run]');
  const [app, id] = art.dataset.run.split('/');
  pending = { verb: b.dataset.verb, app, id, opener: b };
  $('decide-h').textContent = `${pending.verb === 'abort' ? 'Abort' : 'Resume'} run ${id} of ${app}`;
  $('decide-what').textContent = pending.verb === 'abort'
    ? 'The run is closed into the ledger unfinished. Nothing is undone.'
    : 'The run goes on at its first unfinished step.';
  $('decide-ok').textContent = pending.verb === 'abort' ? 'Abort the run' : 'Resume the run';
  $('decide-error').textContent = '';
  $('decide-reason').value = '';
  $('decide-force').checked = false;
  $('decide').showModal();
});
$('decide-cancel').addEventListener('click', () => { $('decide').close(); });
$('decide').addEventListener('close', () => { if (pending && pending.opener.isConnected) pending.opener.focus(); });
$('decide-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const p = pending;
  const res = await fetch(`/ui/runs/${encodeURIComponent(p.app)}/${encodeURIComponent(p.id)}/${p.verb}`, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'Hadron-UI': '1' },
    body: JSON.stringify({ reason: $('decide-reason').value, force: $('decide-force').checked }),
  }).catch((e) => ({ ok: false, status: 0, text: async () => String(e) }));
  if (!res.ok) {
    $('decide-error').textContent = `Refused (${res.status}): ${(await res.text()).trim()}`;
    return;
  }
  $('decide').close();
  $('announce').textContent = `${p.verb} of run ${p.id} accepted`;
});

function connect() {
  const es = new EventSource('/ui/events');
  es.addEventListener('view', (ev) => {
    $('conn').textContent = `live · ${new Date().toLocaleTimeString()}`;
    draw(JSON.parse(ev.data));
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // The daemon refused the stream (a revoked token) or went away: ask again, and
      // go to the login when the token is what failed.
      $('conn').textContent = 'disconnected — retrying';
      setTimeout(async () => {
        const r = await fetch('/ui/view', { credentials: 'same-origin' }).catch(() => null);
        if (r && r.status === 401) { location.href = '/ui/login'; return; }
        connect();
      }, 3000);
    } else {
      $('conn').textContent = 'reconnecting…';
    }
  });
}
connect();
