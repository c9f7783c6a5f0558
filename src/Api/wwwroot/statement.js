// A customer's monthly statement as a printable page: plain ES module over GET /api/contracts/{customer}/statements/{month}.
// State lives in the query string (?customer=&month=&asOf=&asIssued=true), the API key in sessionStorage (as the dashboard).
// When the figures are drawn, <body data-state="ready">; a print (or a PDF) shows the document without the controls.

const KEY_STORAGE = 'maestrosla.apiKey';
const $ = (id) => document.getElementById(id);
const field = (name) => document.querySelector(`[data-field="${name}"]`);
const STATUS_CLASS = { met: 'met', breached: 'breached', 'no data': 'nodata' };
const METRIC_NAMES = { uptime: 'Uptime', availability: 'Availability', latency_p95: 'Latency P95', latency_p99: 'Latency P99', error_rate: 'Error rate' };
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fixed = (digits) => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const upTo = (digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits });

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// Percentages to 4 decimals, milliseconds to 1, as the dashboard and the CLI round (the API does not).
function figure(value, unit) {
  if (value === null || value === undefined) return '—';
  return unit === 'ms' ? fixed(1).format(value) : fixed(4).format(value);
}

function pair(value, unit) {
  return el('td', { 'data-raw': value.raw ?? '', 'data-adjusted': value.adjusted ?? '' }, `${figure(value.raw, unit)} / ${figure(value.adjusted, unit)}`);
}

function instant(iso, tz) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

function showMessage(text, error = false) {
  $('message').textContent = text;
  $('message').className = error ? 'error' : '';
  $('message').hidden = false;
}

async function load(state) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const query = new URLSearchParams();
  if (state.asOf) query.set('asOf', state.asOf);
  if (state.asIssued) query.set('asIssued', 'true');
  const path = `api/contracts/${encodeURIComponent(state.customer)}/statements/${encodeURIComponent(state.month)}${query.size ? '?' + query : ''}`;
  const response = await fetch(path, { headers: key ? { 'X-Api-Key': key } : {} });
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new Error(problem?.title ? `${problem.title}${problem.detail ? ': ' + problem.detail : ''}` : `${response.status} ${response.statusText}`);
  }
  return response.json();
}

function render(s) {
  const tz = s.timeZone;
  field('customer').textContent = s.customer;
  field('month').textContent = s.month;
  field('period').textContent = `${instant(s.periodStart, tz)} – ${instant(s.periodEnd, tz)}`;
  field('timeZone').textContent = tz;
  field('status').textContent = s.status === 'partial'
    ? `partial: the month ends ${instant(s.scheduledEnd, tz)}` : 'final';
  field('status').dataset.status = s.status;
  field('contractVersion').textContent = s.contractVersion;
  // A contract with customerId measures that customer's requests alone (downtime stays the services').
  field('measure').textContent = s.customerId ? `${s.measure}, requests of customer ${s.customerId} only` : s.measure;
  field('maintenance').textContent = `downtime ${s.excludeDowntime ? 'excluded' : 'counted'}, requests ${s.excludeRequests ? 'excluded' : 'counted'}`;
  const overall = field('overall');
  overall.className = `card badge ${STATUS_CLASS[s.overall]}`;
  overall.querySelector('b').textContent = s.overall === 'breached' ? 'BREACHED' : s.overall;
  field('credit').querySelector('b').textContent = s.creditPercent === null ? '—' : `${upTo(2).format(s.creditPercent)} %`;
  field('credit').querySelector('span').textContent = s.creditMetric
    ? `service credit (${s.creditMetric} ${figure(s.creditMetricActual, '%')} %)` : 'service credit';
  field('issued').querySelector('b').textContent = s.issued ? instant(s.issued.at, tz) : 'not issued';
  field('issued').querySelector('span').textContent = s.issued ? `issued by ${s.issued.by}` : 'issued';

  const comparison = { '>=': '≥', '<': '<' };
  $('metricsTable').tBodies[0].replaceChildren(...s.metrics.map((m) => el('tr', { 'data-metric': m.metric },
    el('td', {}, METRIC_NAMES[m.metric] ?? m.metric),
    el('td', { class: 'target' }, `${comparison[m.comparison] ?? m.comparison} ${upTo(4).format(m.target)} ${m.unit}`),
    el('td', { class: 'actual' }, m.actual === null ? '—' : `${figure(m.actual, m.unit)} ${m.unit}`),
    el('td', { class: STATUS_CLASS[m.status] }, m.status))));

  const rows = (s.combined ? [...s.services, s.combined] : s.services).map((f) => el('tr', { 'data-service': f.service },
    el('td', {}, f.service),
    el('td', { 'data-value': f.requests }, integer.format(f.requests)),
    el('td', { 'data-value': f.excludedRequests }, integer.format(f.excludedRequests)),
    pair(f.uptimePercent, '%'), pair(f.availabilityPercent, '%'), pair(f.errorRatePercent, '%'), pair(f.latencyP99Ms, 'ms'),
    el('td', { 'data-value': f.downtimeSeconds }, integer.format(f.downtimeSeconds)),
    el('td', { 'data-value': f.excludedDowntimeSeconds }, integer.format(f.excludedDowntimeSeconds)),
    el('td', { class: STATUS_CLASS[f.status] }, f.status)));
  $('servicesTable').tBodies[0].replaceChildren(...rows);

  field('windowCount').textContent = `${s.maintenanceWindows.length}`;
  $('windowsTable').tBodies[0].replaceChildren(...s.maintenanceWindows.map((w) => el('tr', {},
    el('td', {}, w.service), el('td', {}, instant(w.start, tz)), el('td', {}, instant(w.end, tz)), el('td', { class: 'text' }, w.reason))));

  $('amendments').hidden = s.amendments.length === 0;
  $('amendmentsTable').tBodies[0].replaceChildren(...s.amendments.map((a) => el('tr', {},
    el('td', {}, instant(a.lastRecordedAt, tz)),
    el('td', { class: 'text' }, `${a.kind}: ${a.description}`),
    el('td', {}, a.creditPercentBefore === null ? '—' : `${upTo(2).format(a.creditPercentBefore)} %`),
    el('td', {}, a.creditPercentAfter === null ? '—' : `${upTo(2).format(a.creditPercentAfter)} %`),
    el('td', { class: 'text' }, a.changes.map((c) => `${c.figure}: ${c.before ?? '—'} → ${c.after ?? '—'}`).join('; ')))));

  field('footer').textContent = s.issued?.sha256
    ? `Issued document SHA-256 ${s.issued.sha256}.` : (s.asOf ? `As of ${s.asOf}.` : `Computed ${new Date().toISOString()}.`);
  $('statement').hidden = false;
}

async function main() {
  const params = new URLSearchParams(location.search);
  const state = {
    customer: params.get('customer') || '',
    month: params.get('month') || '',
    asOf: params.get('asOf') || '',
    asIssued: params.get('asIssued') === 'true',
  };
  $('customer').value = state.customer;
  $('month').value = state.month;
  $('asOf').value = state.asOf;
  $('asIssued').checked = state.asIssued;
  $('apiKey').value = sessionStorage.getItem(KEY_STORAGE) || '';
  $('controls').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('apiKey').value.trim();
    if (key) sessionStorage.setItem(KEY_STORAGE, key); else sessionStorage.removeItem(KEY_STORAGE);
    const next = new URLSearchParams({ customer: $('customer').value.trim(), month: $('month').value });
    if ($('asOf').value.trim()) next.set('asOf', $('asOf').value.trim());
    if ($('asIssued').checked) next.set('asIssued', 'true');
    location.search = next.toString();
  });
  $('print').addEventListener('click', () => window.print());

  if (!state.customer || !state.month) {
    showMessage('Enter a customer and a month.');
    document.body.dataset.state = 'ready';
    return;
  }
  try {
    render(await load(state));
    document.body.dataset.state = 'ready';
  } catch (error) {
    showMessage(error.message, true);
    document.body.dataset.state = 'error';
  }
}

main();
