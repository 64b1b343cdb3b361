/**
 * The dashboard page: one HTML document with its script inline, drawing the snapshots pushed
 * over /api/events (EventSource reconnects by itself). Charts are uPlot, served from
 * node_modules by the app. Elements carry data-testid attributes for the browser test.
 */
const SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const bytes = (n) => n === null ? '-' : Number(n) < 1024 * 1024 ? (Number(n) / 1024).toFixed(1) + ' KiB' : (Number(n) / 1048576).toFixed(1) + ' MiB';
const ago = (ms, now) => ms === null ? 'before the dashboard started' : Math.max(0, Math.round((now - ms) / 1000)) + ' s ago';
let snapshot = null;
let receivedAt = 0;
const charts = {};
const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];

function table(headers, rows, empty) {
  if (rows.length === 0) return '<p class="empty">' + esc(empty) + '</p>';
  return '<table><thead><tr>' + headers.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr></thead><tbody>' + rows.join('') + '</tbody></table>';
}

function action(label, path) {
  return snapshot.allowActions ? ' <button data-action="' + esc(path) + '">' + esc(label) + '</button>' : '';
}

function render() {
  const s = snapshot;
  const now = s.atMs;
  const leader = s.members.find((m) => m.role === 'leader');
  $('summary').innerHTML = '<span data-testid="leader">leader: ' + esc(leader ? leader.name + ' (' + leader.id + ')' : 'none') + '</span>' +
    ' · term ' + esc(leader ? leader.term : '-') + ' · revision ' + esc(s.revision) + ' · ' + s.members.length + ' members' +
    (s.error ? ' · <span class="bad">' + esc(s.error) + '</span>' : '');
  $('members').innerHTML = table(['name', 'id', 'role', 'term', 'commit', 'applied', 'lag', 'db size', 'alarms', 'version'], s.members.map((m) =>
    '<tr data-member="' + esc(m.name) + '" class="' + m.role + '"><td>' + esc(m.name) + '</td><td>' + esc(m.id) + '</td><td class="role">' + esc(m.role) + (m.error ? ' <span class="bad">' + esc(m.error) + '</span>' : '') + '</td><td>' + esc(m.term ?? '-') +
    '</td><td>' + esc(m.commitIndex ?? '-') + '</td><td>' + esc(m.appliedIndex ?? '-') + '</td><td>' + esc(m.lag ?? '-') + '</td><td>' + bytes(m.dbSizeBytes) +
    '</td><td class="' + (m.alarms.length ? 'bad' : '') + '">' + esc(m.alarms.join(', ') || 'none') + '</td><td>' + esc(m.version ?? '-') + '</td></tr>'), 'no members');
  $('locks').innerHTML = table(['lock', 'holder', 'token', 'held since', 'waiters (in order)'], s.locks.map((l) =>
    '<tr data-lock="' + esc(l.name) + '"><td>' + esc(l.name) + '</td><td class="holder">' + esc(l.holder.key) + '</td><td class="token">' + esc(l.holder.token) + '</td><td>' + esc(ago(l.holder.sinceMs, now)) +
    '</td><td class="waiters">' + (l.waiters.length ? '<ol>' + l.waiters.map((w) => '<li data-waiter="' + esc(w.key) + '">' + esc(w.key) + ' <small>waiting since ' + esc(ago(w.sinceMs, now)) + ', rev ' + esc(w.token) + '</small></li>').join('') + '</ol>' : 'none') + '</td></tr>'), 'no locks held');
  $('elections').innerHTML = table(['election', 'leader', 'value', 'token', 'candidates (in order)'], s.elections.map((e) =>
    '<tr data-election="' + esc(e.name) + '"><td>' + esc(e.name) + '</td><td>' + esc(e.leader.key) + action('resign', '/api/elections/resign?key=' + encodeURIComponent(e.leader.key)) + '</td><td class="leader-value">' + esc(e.leader.value) + '</td><td>' + esc(e.leader.token) +
    '</td><td class="candidates">' + (e.candidates.length ? '<ol>' + e.candidates.map((c) => '<li>' + esc(c.value) + ' <small>' + esc(c.key) + '</small></li>').join('') + '</ol>' : 'none') + '</td></tr>'), 'no elections');
  $('barriers').innerHTML = s.barriers.length ? table(['double barrier', 'participants'], s.barriers.map((b) => '<tr><td>' + esc(b.name) + '</td><td>' + (1 + b.waiters.length) + '</td></tr>'), '') : '';
  $('services').innerHTML = table(['service', 'id', 'address', 'health', 'lease', 'metadata'], s.services.map((v) =>
    '<tr data-service="' + esc(v.service + '/' + v.id) + '"><td>' + esc(v.service) + '</td><td>' + esc(v.id) + '</td><td>' + esc(v.address) + '</td><td class="' + (v.healthy ? 'good' : 'bad') + '">' + (v.healthy ? 'healthy' : 'unhealthy') +
    '</td><td>' + esc(v.lease) + '</td><td><code>' + esc(JSON.stringify(v.metadata)) + '</code></td></tr>'), 'no registered services');
  renderLeases();
  renderKeys();
  renderCharts();
}

function renderLeases() {
  const elapsed = Math.floor((Date.now() - receivedAt) / 1000);
  $('leases').innerHTML = table(['lease', 'TTL left', 'granted', 'keys'], snapshot.leases.map((l) =>
    '<tr data-lease="' + esc(l.id) + '"><td>' + esc(l.id) + action('revoke', '/api/leases/' + l.id + '/revoke') + '</td><td class="ttl">' + Math.max(0, l.ttlSeconds - elapsed) + ' s</td><td>' + l.grantedTtlSeconds + ' s</td><td>' + esc(l.keys.join(', ') || '-') + '</td></tr>'), 'no leases');
}

function renderKeys() {
  const prefix = $('prefix').value;
  const keys = snapshot.keys.filter((k) => k.key.startsWith(prefix));
  $('keys').innerHTML = (snapshot.keysTruncated ? '<p class="bad">key list truncated</p>' : '') + table(['key', 'value', 'create rev', 'mod rev', 'version', 'lease'], keys.slice(0, 500).map((k) =>
    '<tr><td>' + esc(k.key) + '</td><td><code>' + esc(k.value) + '</code></td><td>' + esc(k.createRevision) + '</td><td>' + esc(k.modRevision) + '</td><td>' + esc(k.version) + '</td><td>' + esc(k.lease === '0' ? '-' : k.lease) + '</td></tr>'), 'no keys with this prefix');
}

const CHARTS = [['ops', 'ops/s', 'opsPerSecond'], ['fsync', 'WAL fsync ms', 'fsyncMs'], ['watch', 'watch events/s', 'watchEventsPerSecond']];

function renderCharts() {
  const members = snapshot.members;
  const unavailable = members.filter((m) => !m.metrics.available);
  $('metrics-status').innerHTML = unavailable.map((m) => '<span class="bad" data-testid="metrics-unavailable">' + esc(m.name) + ': metrics unavailable (' + esc(m.metrics.reason ?? '') + ')</span>').join('<br>');
  const times = [...new Set(members.flatMap((m) => m.metrics.points.map((p) => p.t)))].sort((a, b) => a - b);
  for (const [id, title, field] of CHARTS) {
    const series = members.map((m) => { const byT = new Map(m.metrics.points.map((p) => [p.t, p[field]])); return times.map((t) => byT.has(t) ? byT.get(t) : null); });
    const data = [times, ...series];
    const key = members.map((m) => m.id).join(',');
    const el = $('chart-' + id);
    el.dataset.points = String(series.reduce((n, s) => n + s.filter((v) => v !== null).length, 0));
    if (!charts[id] || charts[id].key !== key) {
      if (charts[id]) charts[id].plot.destroy();
      el.innerHTML = '';
      const plot = new uPlot({ title, width: 380, height: 200, series: [{}, ...members.map((m, i) => ({ label: m.name, stroke: palette[i % palette.length], spanGaps: true }))], axes: [{}, { size: 50 }] }, data, el);
      charts[id] = { plot, key };
    } else {
      charts[id].plot.setData(data);
    }
  }
}

document.addEventListener('click', async (event) => {
  const path = event.target.dataset && event.target.dataset.action;
  if (!path) return;
  const response = await fetch(path, { method: 'POST', headers: { 'X-Conclave-Action': '1' } });
  if (!response.ok) alert((await response.json()).error);
});
$('prefix').addEventListener('input', () => snapshot && renderKeys());
setInterval(() => snapshot && renderLeases(), 1000);
const events = new EventSource('/api/events');
events.addEventListener('snapshot', (event) => {
  snapshot = JSON.parse(event.data);
  receivedAt = Date.now();
  document.body.dataset.revision = snapshot.revision;
  $('connection').textContent = 'live';
  render();
});
events.addEventListener('error', () => { $('connection').textContent = 'reconnecting…'; });
`;

export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Conclave dashboard</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; color: #111827; background: #f9fafb; }
  header { display: flex; gap: 1rem; align-items: baseline; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
  table { border-collapse: collapse; background: white; width: 100%; }
  th, td { border: 1px solid #e5e7eb; padding: .25rem .5rem; text-align: left; vertical-align: top; }
  th { background: #f3f4f6; font-weight: 600; }
  tr.leader td.role { color: #15803d; font-weight: 600; } .bad { color: #b91c1c; } .good { color: #15803d; }
  .empty { color: #6b7280; } ol { margin: 0; padding-left: 1.2rem; } code { font-size: 12px; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1.5rem; } .charts { display: flex; gap: 1rem; flex-wrap: wrap; }
  #connection { color: #6b7280; }
</style>
</head>
<body>
<header><h1>Conclave dashboard</h1><span id="connection">connecting…</span></header>
<div id="summary" data-testid="summary"></div>
<h2>Members</h2><div id="members" data-testid="members"></div>
<h2>Metrics</h2><div id="metrics-status"></div>
<div class="charts"><div id="chart-ops" data-testid="chart-ops"></div><div id="chart-fsync" data-testid="chart-fsync"></div><div id="chart-watch" data-testid="chart-watch"></div></div>
<div class="grid">
  <div><h2>Locks</h2><div id="locks" data-testid="locks"></div><div id="barriers"></div></div>
  <div><h2>Elections</h2><div id="elections" data-testid="elections"></div></div>
  <div><h2>Leases</h2><div id="leases" data-testid="leases"></div></div>
  <div><h2>Services</h2><div id="services" data-testid="services"></div></div>
</div>
<h2>Keys</h2><label>prefix <input id="prefix" data-testid="prefix" placeholder="all keys"></label><div id="keys" data-testid="keys"></div>
<script src="/assets/uPlot.iife.min.js"></script>
<script>${SCRIPT}</script>
</body>
</html>
`;
