// MaestroSla dashboard: plain ES module over the JSON API, charts by uPlot (global `uPlot`, vendored in lib/).
// State lives in the query string (?service=&customer=&month=&tz=&step=) so a view can be linked; the API key lives in
// sessionStorage (this tab only) and goes out as X-Api-Key on every request. Without a month the page opens on the
// latest month with data (an empty current month says nothing yet); any month can be picked.

const KEY_STORAGE = 'maestrosla.apiKey';
const COLORS = {
  p95: '#2563eb', p99: '#7c3aed', p95Target: '#1e3a8a', p99Target: '#4c1d95', errors: '#ea580c', uptime: '#16a34a', target: '#dc2626',
  errorBudget: '#ea580c', downtimeBudget: '#0891b2', ideal: '#9ca3af', downtime: 'rgba(220, 38, 38, 0.35)',
};
const METRIC_NAMES = {
  uptime: 'Uptime', availability: 'Availability', latency_p95: 'Latency P95', latency_p99: 'Latency P99', error_rate: 'Error rate',
};

const $ = (id) => document.getElementById(id);
const charts = [];

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function api(path) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const response = await fetch(path, { headers: key ? { 'X-Api-Key': key } : {} });
  if (response.status === 401 || response.status === 403) {
    throw new ApiError(response.status === 401
      ? 'This server needs an API key: enter one above and press "Use key".'
      : 'This API key may not read this data (403).', response.status);
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new ApiError(problem?.title ? `${problem.title}${problem.detail ? ': ' + problem.detail : ''}` : `${response.status} ${response.statusText}`, response.status);
  }
  return response.json();
}

// ---- state and controls ----------------------------------------------------------------------------

function readState() {
  const params = new URLSearchParams(location.search);
  const tz = params.get('tz') || 'UTC';
  return {
    service: params.get('service') || '',
    // One customer of a shared service (its requests, errors and latency; downtime stays the service's); '' = all.
    customer: params.get('customer') || '',
    tz,
    // Empty until resolved by render(): the latest month with data.
    month: params.get('month') || '',
    // A month reads best per day; per hour shows the shape of an outage or a slow afternoon.
    step: params.get('step') === 'hour' ? 'hour' : 'day',
  };
}

function navigate(state, replace = false) {
  const params = new URLSearchParams();
  if (state.service) {
    params.set('service', state.service);
    if (state.customer) params.set('customer', state.customer);
    params.set('step', state.step);
  }
  if (state.month) params.set('month', state.month);
  params.set('tz', state.tz);
  history[replace ? 'replaceState' : 'pushState'](null, '', '?' + params);
  render();
}

function currentMonth(tz) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit' }).formatToParts(new Date());
  return `${parts.find((p) => p.type === 'year').value}-${parts.find((p) => p.type === 'month').value}`;
}

function fillTimeZones(selected) {
  const select = $('tz');
  const zones = ['UTC', ...(Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : [])];
  if (!zones.includes(selected)) zones.unshift(selected);
  select.replaceChildren(...[...new Set(zones)].map((zone) => new Option(zone, zone, false, zone === selected)));
}

function bindControls() {
  $('apiKey').value = sessionStorage.getItem(KEY_STORAGE) || '';
  $('saveKey').addEventListener('click', () => {
    const key = $('apiKey').value.trim();
    if (key) sessionStorage.setItem(KEY_STORAGE, key); else sessionStorage.removeItem(KEY_STORAGE);
    render();
  });
  $('apiKey').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); $('saveKey').click(); } });
  $('tz').addEventListener('change', () => navigate({ ...readState(), tz: $('tz').value }));
  $('month').addEventListener('change', () => { if ($('month').value) navigate({ ...readState(), month: $('month').value }); });
  $('step').addEventListener('change', () => navigate({ ...readState(), step: $('step').value }));
  $('customer').addEventListener('change', () => navigate({ ...readState(), customer: $('customer').value }));
  $('home').addEventListener('click', (e) => { e.preventDefault(); navigate({ ...readState(), service: '', customer: '' }); });
  window.addEventListener('popstate', render);
  window.addEventListener('resize', () => charts.forEach((c) => c.setSize(chartSize(c.root.parentElement))));
}

// ---- formatting ------------------------------------------------------------------------------------

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fixed = (digits) => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const upTo = (digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits });

/** Actual values: percentages to 4 decimals, milliseconds to 1. */
function formatActual(value, unit) {
  if (value === null || value === undefined) return null;
  return unit === '%' ? fixed(4).format(value) : fixed(1).format(value);
}

function formatDuration(value) {
  // System.Text.Json writes TimeSpan as [d.]hh:mm:ss[.fffffff].
  const match = /^(?:(\d+)\.)?(\d+):(\d+):(\d+)/.exec(value || '');
  if (!match) return value ?? '';
  const [, d, h, m, s] = match.map((x) => Number(x || 0));
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s || parts.length === 0) parts.push(`${s} s`);
  return parts.join(' ');
}

function formatInstant(iso, tz) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function showMessage(text, isError = false) {
  const message = $('message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
  message.hidden = !text;
}

// ---- views -----------------------------------------------------------------------------------------

/** Status cell classes and texts: "no data" is neither met nor breached. */
const STATUS_CLASS = { met: 'met', breached: 'breached', 'no data': 'nodata' };
const overallText = (status) => (status === 'breached' ? 'BREACHED' : status);

async function render() {
  let state = readState();
  document.body.dataset.state = 'loading';
  fillTimeZones(state.tz);
  $('step').value = state.step;
  document.querySelectorAll('.service-only').forEach((node) => { node.hidden = !state.service; });
  // Shown by renderService once it knows the service has customers.
  if (!state.service) $('customerPicker').hidden = true;
  showMessage('');
  try {
    if (!state.month) {
      const months = await api(`api/status/months?tz=${encodeURIComponent(state.tz)}`);
      state = { ...state, month: months.latestWithData ?? months.current };
      const params = new URLSearchParams(location.search);
      params.set('month', state.month);
      history.replaceState(null, '', '?' + params);
    }
    $('month').value = state.month;
    $('crumb').textContent = state.service
      ? `· ${state.service}${state.customer ? ` · customer ${state.customer}` : ''} · ${state.month} (${state.tz})`
      : '· SLA status';
    if (state.service) {
      $('services').hidden = true;
      await renderService(state);
      $('service').hidden = false;
    } else {
      $('service').hidden = true;
      await renderServices(state);
      $('services').hidden = false;
    }
    document.body.dataset.state = 'ready';
  } catch (error) {
    $('services').hidden = true;
    $('service').hidden = true;
    showMessage(error.message, true);
    document.body.dataset.state = 'error';
    console.error(error);
  }
}

async function renderServices(state) {
  const statuses = await api(`api/status?tz=${encodeURIComponent(state.tz)}&month=${encodeURIComponent(state.month)}`);
  const current = currentMonth(state.tz);
  $('statusPeriod').textContent = state.month === current ? `this month (${current}, ${state.tz}; partial: in progress)` : `${state.month} (${state.tz})`;
  const rows = statuses.map((status) => {
    const metric = (name) => status.metrics.find((m) => m.metric === name);
    const cell = (name) => {
      const m = metric(name);
      const text = m ? formatActual(m.actual, m.unit) ?? '—' : '—';
      return el('td', { class: m ? STATUS_CLASS[m.status] : '', title: m ? `target ${m.comparison} ${m.target} ${m.unit}: ${m.status}` : '' }, text);
    };
    const left = status.errorBudgetRemainingPercent;
    const row = el('tr', { 'data-service': status.service, 'data-status': status.status },
      el('td', {}, status.service),
      el('td', { class: STATUS_CLASS[status.status] }, overallText(status.status)),
      cell('uptime'), cell('availability'), cell('latency_p95'), cell('latency_p99'), cell('error_rate'),
      el('td', {}, left == null ? '—' : `${fixed(1).format(left)} %`));
    row.addEventListener('click', () => navigate({ ...state, service: status.service, customer: '' }));
    return row;
  });
  $('statusTable').tBodies[0].replaceChildren(...rows);
  if (rows.length === 0) showMessage('No service has recorded anything yet.');
  else if (statuses.every((status) => status.status === 'no data')) showMessage(`No service recorded anything in ${state.month}: pick another month.`);
}

async function renderService(state) {
  const service = encodeURIComponent(state.service);
  const query = `month=${encodeURIComponent(state.month)}&tz=${encodeURIComponent(state.tz)}`
    + (state.customer ? `&customer=${encodeURIComponent(state.customer)}` : '');
  // The picker is filled as soon as the list arrives, so that a customer the report refuses (404) can be changed.
  const customers = api(`api/services/${service}/customers`).then((list) => fillCustomers(list.customers, state.customer));
  const [report, series] = await Promise.all([
    api(`api/reports/${service}?${query}`),
    api(`api/reports/${service}/series?${query}&step=${state.step}`),
    customers,
  ]);
  renderSummary(report);
  renderReportTable(report, state.tz);
  renderDowntime(report, state.tz);
  // Charts last: they size themselves to the laid-out page.
  $('service').hidden = false;
  renderCharts(series, state.tz);
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}

/** "all customers" (the service's report) and every customer of the service; hidden for a service without any. */
function fillCustomers(customers, selected) {
  // A linked customer the service does not list stays selected, so the page shows what the API says of it.
  const names = selected && !customers.includes(selected) ? [...customers, selected] : customers;
  $('customer').replaceChildren(
    new Option('all customers', '', false, !selected),
    ...names.map((name) => new Option(name === '(other)' ? '(other): past the customer limit' : name, name, false, name === selected)));
  $('customerPicker').hidden = names.length === 0;
}

function renderSummary(report) {
  const card = (label, value, attributes = {}) => el('div', { class: 'card', ...attributes }, el('b', {}, value), el('span', {}, label));
  $('summary').replaceChildren(
    ...(report.customer ? [card('customer', report.customer, { 'data-field': 'customer' })] : []),
    card('SLA', overallText(report.status), { 'data-field': 'overall', class: `card badge ${STATUS_CLASS[report.status]}` }),
    card('requests', integer.format(report.requests.total)),
    card('errors', integer.format(report.requests.errors)),
    card('P95', report.latency.p95Ms == null ? '—' : `${fixed(1).format(report.latency.p95Ms)} ms`),
    card('P99', report.latency.p99Ms == null ? '—' : `${fixed(1).format(report.latency.p99Ms)} ms`),
    card('uptime', report.uptime.uptimePercent == null ? '—' : `${fixed(3).format(report.uptime.uptimePercent)} %`),
    card('downtime', formatDuration(report.uptime.downtime)),
    card('error budget left', report.errorBudget.remainingPercent == null ? '—' : `${fixed(1).format(report.errorBudget.remainingPercent)} %`),
  );
}

function renderReportTable(report, tz) {
  // The month in progress counts only its elapsed part (periodStatus partial): say so beside the period.
  const partial = report.periodStatus === 'partial' && report.scheduledTo
    ? ` · partial: the period ends ${formatInstant(report.scheduledTo, tz)}` : '';
  $('reportPeriod').textContent = `${formatInstant(report.from, tz)} – ${formatInstant(report.to, tz)} (${tz})${partial}`;
  $('reportPeriod').dataset.periodStatus = report.periodStatus ?? 'final';
  const comparison = { '>=': '≥', '<': '<', '<=': '≤', '>': '>' };
  const rows = report.metrics.map((m) => {
    const actual = formatActual(m.actual, m.unit);
    return el('tr', { 'data-metric': m.metric },
      el('td', {}, METRIC_NAMES[m.metric] ?? m.metric),
      el('td', { class: 'target' }, `${comparison[m.comparison] ?? m.comparison} `, el('span', { class: 'num' }, upTo(4).format(m.target)), ` ${m.unit}`),
      el('td', { class: 'actual' }, actual === null ? el('span', { class: 'num' }, '—') : el('span', { class: 'num' }, actual), actual === null ? '' : ` ${m.unit}`),
      el('td', { class: `result ${STATUS_CLASS[m.status]}` }, m.status));
  });
  $('reportTable').tBodies[0].replaceChildren(...rows);
  const budget = (b) => (b.consumedPercent == null ? 'n/a' : `${fixed(1).format(b.consumedPercent)} % used`);
  $('reportNote').replaceChildren(
    report.customer ? `Customer ${report.customer}: its own requests, errors and latency; uptime and downtime are the service's. ` : '',
    el('span', { 'data-field': 'requests' }, integer.format(report.requests.total)), ' requests, ',
    el('span', { 'data-field': 'errors' }, integer.format(report.requests.errors)), ' errors · error budget ',
    budget(report.errorBudget), ' · downtime budget ', budget(report.downtimeBudget),
    ` · targets: ${report.targetsSource} · computed at event ${report.computedAtSequence}`);
}

function renderDowntime(report, tz) {
  $('downtimeCount').textContent = `${report.downtimeEventCount} interval${report.downtimeEventCount === 1 ? '' : 's'}, ${formatDuration(report.uptime.downtime)} in all`;
  $('downtimeTable').tBodies[0].replaceChildren(...report.downtimeEvents.map((d) => el('tr', {},
    el('td', {}, formatInstant(d.start, tz)),
    el('td', {}, formatInstant(d.end, tz)),
    el('td', {}, formatDuration(d.duration)),
    el('td', { class: 'sources' }, d.sources.join(', ')))));
}

// ---- charts ----------------------------------------------------------------------------------------

function chartSize(container) {
  return { width: Math.max(320, container.clientWidth), height: 300 };
}

function baseOptions(container, series, tz) {
  return {
    ...chartSize(container),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), tz),
    scales: { x: { time: true, range: () => [series.from, series.to] } },
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
}

function line(label, stroke, extra = {}) {
  return { label, stroke, width: 2, spanGaps: false, points: { show: false }, ...extra };
}

function dashed(label, stroke) {
  return { label, stroke, width: 2, dash: [8, 5], points: { show: false } };
}

function makeChart(id, options, data, colors) {
  const container = $(id);
  container.replaceChildren();
  container.dataset.colors = JSON.stringify(colors);
  const chart = new uPlot(options, data, container);
  charts.push(chart);
  return chart;
}

function renderCharts(raw, tz) {
  charts.splice(0).forEach((chart) => chart.destroy());
  const toSeconds = (iso) => Date.parse(iso) / 1000;
  const series = { ...raw, from: toSeconds(raw.from), to: toSeconds(raw.to) };
  const points = raw.points;
  const xs = points.map((p) => toSeconds(p.start));
  const constant = (value) => xs.map(() => value);
  const t = raw.targets;

  // Latency: P95 and P99 per step against their targets.
  makeChart('latencyChart', {
    ...baseOptions($('latencyChart'), series, tz),
    series: [{}, line('P95', COLORS.p95), line('P99', COLORS.p99), dashed('P95 target', COLORS.p95Target), dashed('P99 target', COLORS.p99Target)],
    scales: { ...baseOptions($('latencyChart'), series, tz).scales, y: { range: (u, min, max) => [0, Math.max(max ?? 0, t.p99Ms) * 1.08] } },
    axes: [{}, { label: 'ms', size: 60 }],
  }, [xs, points.map((p) => p.p95Ms), points.map((p) => p.p99Ms), constant(t.p95Ms), constant(t.p99Ms)], [COLORS.p95, COLORS.p99]);

  // Error rate per step against the target.
  makeChart('errorChart', {
    ...baseOptions($('errorChart'), series, tz),
    series: [{}, line('error rate %', COLORS.errors), dashed('target %', COLORS.target)],
    scales: { ...baseOptions($('errorChart'), series, tz).scales, y: { range: (u, min, max) => [0, Math.max(max ?? 0, t.errorRatePercent) * 1.15] } },
    axes: [{}, { label: '%', size: 60 }],
  }, [xs, points.map((p) => p.errorRatePercent), constant(t.errorRatePercent)], [COLORS.errors]);

  // Uptime per step, with every downtime interval shaded (at least 3 px wide so a short outage stays visible).
  const downtime = raw.downtime.map((d) => [toSeconds(d.start), toSeconds(d.end)]);
  const shade = (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.fillStyle = COLORS.downtime;
    for (const [start, end] of downtime) {
      const x0 = u.valToPos(start, 'x', true);
      const x1 = u.valToPos(end, 'x', true);
      ctx.fillRect(x0, bbox.top, Math.max(x1 - x0, 3 * devicePixelRatio), bbox.height);
    }
    ctx.restore();
  };
  const lowestUptime = Math.min(t.uptimePercent, ...points.map((p) => p.uptimePercent));
  makeChart('uptimeChart', {
    ...baseOptions($('uptimeChart'), series, tz),
    series: [{}, line('uptime %', COLORS.uptime, { paths: uPlot.paths.stepped({ align: 1 }) }), dashed('target %', COLORS.target)],
    scales: { ...baseOptions($('uptimeChart'), series, tz).scales, y: { range: () => [Math.max(0, lowestUptime - (100 - lowestUptime) * 0.1 - 0.05), 100.02] } },
    axes: [{}, { label: '%', size: 60 }],
    hooks: { drawClear: [shade] },
  }, [xs, points.map((p) => p.uptimePercent), constant(t.uptimePercent)], [COLORS.uptime, COLORS.downtime]);

  // Budget burn-down: what is left at the end of each step; the ideal line spends it evenly over the month.
  const bx = [series.from, ...points.map((p) => toSeconds(p.end))];
  const left = (consumed) => (consumed == null ? null : 100 - consumed);
  makeChart('budgetChart', {
    ...baseOptions($('budgetChart'), series, tz),
    series: [{}, line('error budget left %', COLORS.errorBudget), line('downtime budget left %', COLORS.downtimeBudget), dashed('even spend', COLORS.ideal)],
    scales: { ...baseOptions($('budgetChart'), series, tz).scales, y: { range: (u, min, max) => [Math.min(0, min ?? 0) - 5, 105] } },
    axes: [{}, { label: '% left', size: 60 }],
  }, [
    bx,
    [raw.errorBudgetAllowed > 0 ? 100 : null, ...points.map((p) => left(p.errorBudgetConsumedPercent))],
    [raw.downtimeBudgetAllowedMinutes > 0 ? 100 : null, ...points.map((p) => left(p.downtimeBudgetConsumedPercent))],
    bx.map((x) => 100 * (1 - (x - series.from) / (series.to - series.from))),
  ], [COLORS.errorBudget, COLORS.downtimeBudget]);
}

bindControls();
render();
