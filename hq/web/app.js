// SEGUE HQ dashboard. Every figure comes from segue-hq's JSON API, which computes it with the
// same scoring code as the terminals; this script only fetches, formats and draws.
(function () {
  'use strict';

  const LANGS = ['zh-CN', 'en'];
  const SEGUE = ['satisfactory', 'efficient', 'genuine', 'understanding', 'effective'];
  const TOKEN_KEY = 'segue.hq.token';
  const LANG_KEY = 'segue.hq.lang';

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    lang: null,
    dict: {},
    period: { preset: '7d', from: null, to: null },
    sort: { key: 'csat', dir: 'ascending' },
    view: null,           // the last rendered view, re-rendered on a language switch
    charts: [],
  };

  // ---------- DOM and words ----------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'style') Object.assign(el.style, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(state.dict, key) ? state.dict[key] : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  function pickLanguage() {
    const saved = localStorage.getItem(LANG_KEY);
    if (LANGS.includes(saved)) return saved;
    for (const l of navigator.languages || [navigator.language || '']) {
      const lower = String(l).toLowerCase();
      if (lower.startsWith('zh')) return 'zh-CN';
      if (lower.startsWith('en')) return 'en';
    }
    return 'zh-CN';
  }

  async function loadLanguage(lang) {
    const res = await fetch('/static/i18n/' + lang + '.json', { cache: 'no-cache' });
    if (!res.ok) throw new Error('dictionary ' + lang + ': HTTP ' + res.status);
    state.dict = await res.json();
    state.lang = lang;
    document.documentElement.lang = lang;
    document.title = t('app.brand') + ' · ' + t('app.product');
  }

  async function switchLanguage(lang) {
    localStorage.setItem(LANG_KEY, lang);
    await loadLanguage(lang);
    renderChrome();
    if (state.view) state.view.render();
    else renderLogin();
  }

  // ---------- formatting (numbers come from the API; nothing is computed here) ----------

  const none = () => t('common.none');
  function pct(v) {
    if (v === null || v === undefined) return none();
    return new Intl.NumberFormat(state.lang, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v);
  }
  function dec(v, digits) {
    if (v === null || v === undefined) return none();
    return new Intl.NumberFormat(state.lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  }
  function int(v) {
    if (v === null || v === undefined) return none();
    return new Intl.NumberFormat(state.lang).format(v);
  }
  function signed(text, v) { return (v > 0 ? '+' : v < 0 ? '−' : '±') + text; }
  function pts(delta) {
    if (delta === null || delta === undefined) return none();
    return t('unit.pts', { n: signed(dec(Math.abs(delta) * 100, 1), delta) });
  }
  function dateLabel(iso, withYear) {
    const [y, m, d] = iso.split('-').map(Number);
    const opts = withYear ? { year: 'numeric', month: 'short', day: 'numeric' } : { month: 'short', day: 'numeric' };
    return new Intl.DateTimeFormat(state.lang, { ...opts, timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
  }
  function dateTime(iso) {
    if (!iso) return none();
    return new Intl.DateTimeFormat(state.lang, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
  }
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return t('dur.s', { n: s });
    if (s < 3600) return t('dur.min', { n: Math.floor(s / 60) });
    if (s < 48 * 3600) return t('dur.h', { n: Math.floor(s / 3600) });
    return t('dur.d', { n: Math.floor(s / 86400) });
  }
  function clockOffset(ms) {
    if (ms === null || ms === undefined) return none();
    const s = Math.round(Math.abs(ms) / 1000);
    let text;
    if (s < 60) text = t('dur.s', { n: s });
    else if (s < 3600) text = t('dur.min', { n: Math.floor(s / 60) }) + ' ' + t('dur.s', { n: s % 60 });
    else text = t('dur.h', { n: Math.floor(s / 3600) }) + ' ' + t('dur.min', { n: Math.floor((s % 3600) / 60) });
    return signed(text, ms);
  }
  function deltaSpan(delta, formatted) {
    const cls = delta > 0 ? 'delta up' : delta < 0 ? 'delta down' : 'delta';
    return h('span', { class: cls, 'data-value': delta === null ? '' : delta }, formatted);
  }
  function badge(kind, text, flag) { return h('span', { class: 'badge ' + kind, 'data-flag': flag }, text); }
  function targetBadge(stats, below) {
    if (!stats.responses) return badge('neutral', t('badge.nodata'), 'nodata');
    return below ? badge('bad', t('badge.below'), 'below') : badge('good', t('badge.ontarget'), 'ontarget');
  }

  // ---------- API ----------

  class Unauthorized extends Error {}

  async function api(path) {
    const res = await fetch(path, { headers: { Authorization: 'Bearer ' + state.token }, cache: 'no-store' });
    if (res.status === 401) throw new Unauthorized('401');
    if (!res.ok) {
      let message = 'HTTP ' + res.status;
      try { message = (await res.json()).message || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return res.json();
  }

  function periodQuery() {
    const p = state.period;
    if (p.preset === 'custom' && p.from && p.to) return 'from=' + p.from + '&to=' + p.to;
    return 'period=' + (p.preset === 'custom' ? '7d' : p.preset);
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.view = null;
    destroyCharts();
    renderLogin(message);
  }

  // ---------- page chrome ----------

  function langButtons() {
    return LANGS.map((l) => h('button', {
      type: 'button', 'data-lang': l, 'aria-pressed': String(state.lang === l),
      onclick: () => switchLanguage(l),
    }, l === 'en' ? 'English' : '中文'));
  }

  function renderChrome() {
    const bar = document.getElementById('topbar');
    bar.hidden = !state.token;
    document.getElementById('brand-name').textContent = t('app.brand');
    document.getElementById('brand-product').textContent = t('app.product');
    const current = (location.hash.split('?')[0] || '#/overview').split('/')[1] || 'overview';
    const tabs = document.getElementById('tabs');
    tabs.replaceChildren(...['overview', 'fleet', 'alerts'].map((name) => h('a', {
      href: '#/' + name, 'data-tab': name,
      'aria-current': (current === name || (name === 'overview' && current === 'store')) ? 'page' : null,
    }, t('nav.' + name))));
    document.getElementById('lang-switch').replaceChildren(...langButtons());
    const out = document.getElementById('logout');
    out.textContent = t('action.logout');
    out.onclick = () => logout();
  }

  function destroyCharts() {
    for (const c of state.charts) c.destroy();
    state.charts = [];
  }

  function setMain(...nodes) {
    destroyCharts();
    const main = document.getElementById('main');
    main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
  }

  // ---------- login ----------

  function renderLogin(message) {
    document.getElementById('topbar').hidden = true;
    const input = h('input', {
      id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
      placeholder: t('login.placeholder'), 'aria-describedby': 'login-error',
    });
    const error = h('div', { class: 'form-error', id: 'login-error', role: 'alert' }, message || '');
    const submit = h('button', { class: 'btn primary', type: 'submit', id: 'signin' }, t('action.signin'));
    const form = h('form', {
      class: 'login', id: 'login-form', novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        const token = input.value.trim();
        if (!token) { error.textContent = t('login.error.empty'); return; }
        submit.disabled = true;
        state.token = token;
        try {
          await api('/api/v1/stores');
          sessionStorage.setItem(TOKEN_KEY, token);
          if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
          route();
        } catch (e) {
          state.token = null;
          error.textContent = e instanceof Unauthorized ? t('login.error.invalid') : t('login.error.network');
          submit.disabled = false;
        }
      },
    },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '★'), t('app.brand')),
    h('h1', {}, t('login.title')),
    h('p', { class: 'muted' }, t('login.lead')),
    h('label', { for: 'token' }, t('login.token')),
    input, error, submit,
    h('p', { class: 'muted small' }, t('login.hint')),
    h('div', { class: 'lang-row' }, langButtons()));
    setMain(h('div', { class: 'login-wrap' }, form));
    state.view = null;
    input.focus();
  }

  // ---------- filters ----------

  function periodBar(onChange, exportStore) {
    const p = state.period;
    const presets = ['today', '7d', '30d', 'custom'].map((k) => h('button', {
      type: 'button', 'data-period': k, 'aria-pressed': String(p.preset === k),
      onclick: () => {
        if (k === 'custom') {
          state.period = { preset: 'custom', from: p.from, to: p.to };
          onChange(false);
        } else {
          state.period = { preset: k, from: null, to: null };
          onChange(true);
        }
      },
    }, t('period.' + k)));
    const from = h('input', { type: 'date', id: 'from', value: p.from || '', 'aria-label': t('period.from') });
    const to = h('input', { type: 'date', id: 'to', value: p.to || '', 'aria-label': t('period.to') });
    const custom = h('span', { class: 'custom-range', hidden: p.preset !== 'custom' },
      h('span', { class: 'muted small' }, t('period.from')), from,
      h('span', { class: 'muted small' }, t('period.to')), to,
      h('button', {
        class: 'btn', type: 'button', id: 'apply-range',
        onclick: () => {
          if (!from.value || !to.value) return;
          state.period = { preset: 'custom', from: from.value, to: to.value };
          onChange(true);
        },
      }, t('action.apply')));
    const exportButton = h('button', { class: 'btn', type: 'button', id: 'export' }, '⤓ ' + t('action.export'));
    exportButton.addEventListener('click', () => exportCsv(exportButton, exportStore));
    return h('div', { class: 'filters' },
      h('div', { class: 'segmented', role: 'group', 'aria-label': t('period.label') }, presets),
      custom, exportButton);
  }

  async function exportCsv(button, store) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = t('action.exporting');
    try {
      const range = state.lastRange;
      const params = new URLSearchParams({ from: range.from, to: range.to });
      if (store) params.set('store', store);
      const res = await fetch('/api/v1/responses.csv?' + params, { headers: { Authorization: 'Bearer ' + state.token } });
      if (res.status === 401) return logout(t('login.error.invalid'));
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: 'segue-responses-' + (store ? store + '-' : '') + range.from + '_' + range.to + '.csv' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      alert(t('common.error', { message: e.message }));
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  // ---------- charts (uPlot) ----------

  function chartWidth(el) { return Math.max(320, el.clientWidth || el.parentElement.clientWidth - 40); }

  function trendChart(el, days, target) {
    const xs = days.map((_, i) => i);
    const csat = days.map((d) => (d.csat === null ? null : d.csat * 100));
    const responses = days.map((d) => d.responses);
    const goal = days.map(() => target * 100);
    const bars = uPlot.paths.bars({ size: [0.6, 36] });
    const label = (i) => (days[i] ? dateLabel(days[i].date) : '');
    const step = Math.max(1, Math.ceil(days.length / 10));
    // The satisfaction axis starts a little below the lowest day (or the target), so the
    // differences that matter are visible; it always ends at 100%.
    const lows = csat.filter((v) => v !== null).concat([target * 100]);
    const floor = Math.max(0, Math.floor((Math.min(...lows) - 5) / 10) * 10);
    const chart = new uPlot({
      width: chartWidth(el), height: 260,
      cursor: { points: { size: 7 } },
      legend: { live: false },
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, days.length - 0.5)] }, pct: { range: [floor, 100] }, n: { range: (u, min, max) => [0, Math.max(5, max * 1.15)] } },
      series: [
        { label: t('chart.date'), value: (u, i) => (i === null || i === undefined ? '–' : label(i)) },
        { label: t('chart.responses'), scale: 'n', paths: bars, points: { show: false }, fill: 'rgba(15,95,90,0.16)', stroke: 'rgba(15,95,90,0.35)', width: 1, value: (u, v) => (v === null ? '–' : int(v)) },
        { label: t('chart.csat'), scale: 'pct', stroke: '#0f5f5a', width: 2.5, points: { show: true, size: 6, fill: '#0f5f5a' }, spanGaps: true, value: (u, v) => (v === null ? '–' : dec(v, 1) + '%') },
        { label: t('chart.target') + ' ' + dec(target * 100, 0) + '%', scale: 'pct', stroke: '#b42318', dash: [6, 5], width: 1.5, points: { show: false }, value: () => dec(target * 100, 0) + '%' },
      ],
      axes: [
        { splits: () => xs.filter((i) => i % step === 0), values: (u, splits) => splits.map(label), grid: { show: false } },
        { scale: 'pct', values: (u, vals) => vals.map((v) => v + '%'), size: 52 },
        { scale: 'n', side: 1, grid: { show: false }, values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? int(v) : '')), size: 50 },
      ],
    }, [xs, responses, csat, goal], el);
    state.charts.push(chart);
  }

  function hoursChart(el, byHour) {
    const xs = byHour.map((_, i) => i);
    const chart = new uPlot({
      width: chartWidth(el), height: 200,
      legend: { show: false },
      cursor: { points: { show: false } },
      scales: { x: { time: false, range: [-0.6, 23.6] }, y: { range: (u, min, max) => [0, Math.max(4, max * 1.15)] } },
      series: [{}, { label: t('chart.responses'), paths: uPlot.paths.bars({ size: [0.7, 30] }), points: { show: false }, fill: '#0f5f5a', stroke: '#0f5f5a', width: 0 }],
      axes: [
        { splits: () => xs.filter((i) => i % 3 === 0), values: (u, splits) => splits.map((i) => String(i).padStart(2, '0') + ':00'), grid: { show: false } },
        { values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? int(v) : '')), size: 44 },
      ],
    }, [xs, byHour], el);
    state.charts.push(chart);
  }

  // ---------- overview ----------

  function terminalCard(term) {
    const flags = [];
    if (term.silent) flags.push(badge('bad', t('fleet.silent', { n: int(term.silent) }), 'silent'));
    if (term.clock_skewed) flags.push(badge('warn', t('fleet.skewed', { n: int(term.clock_skewed) }), 'skew'));
    if (!flags.length) flags.push(badge('good', t('fleet.allgood'), 'ok'));
    return h('div', { class: 'card kpi ' + (term.silent || term.clock_skewed ? 'is-below' : 'is-good') },
      h('div', { class: 'label' }, t('store.terminals')),
      h('div', { class: 'value', id: 'kpi-terminals', 'data-value': term.devices }, int(term.devices)),
      h('div', { class: 'line' }, flags),
      h('div', { class: 'line' }, term.pending ? t('store.pending', { n: int(term.pending) }) : t('store.nopending')));
  }

  function kpiCards(data, storesBelow, storesWithData, extraCard) {
    const total = data.total;
    const csatCard = h('div', { class: 'card kpi ' + (total.responses ? (data.below_target ? 'is-below' : 'is-good') : '') },
      h('div', { class: 'label' }, t('kpi.csat')),
      h('div', { class: 'value', id: 'kpi-csat', 'data-value': total.csat === null ? '' : total.csat }, pct(total.csat)),
      h('div', { class: 'line' }, targetBadge(total, data.below_target), h('span', {}, t('kpi.target', { target: pct(data.target_csat) }))),
      h('div', { class: 'line' }, data.change.csat === null ? t('kpi.nochange') : deltaSpan(data.change.csat, t('kpi.change', { delta: pts(data.change.csat) }))));
    const meanDelta = data.change.mean_stars;
    const meanCard = h('div', { class: 'card kpi' },
      h('div', { class: 'label' }, t('kpi.mean')),
      h('div', { class: 'value', id: 'kpi-mean', 'data-value': total.mean_stars === null ? '' : total.mean_stars }, dec(total.mean_stars, 2), h('span', { class: 'unit' }, '★')),
      h('div', { class: 'line' }, t('kpi.mean.hint')),
      h('div', { class: 'line' }, meanDelta === null ? t('kpi.nochange') : deltaSpan(meanDelta, t('kpi.change', { delta: signed(dec(Math.abs(meanDelta), 2), meanDelta) }))));
    const respDelta = data.change.responses;
    const respCard = h('div', { class: 'card kpi' },
      h('div', { class: 'label' }, t('kpi.responses')),
      h('div', { class: 'value', id: 'kpi-responses', 'data-value': total.responses }, int(total.responses)),
      h('div', { class: 'line' }, t('kpi.responses.hint')),
      h('div', { class: 'line' }, deltaSpan(respDelta, t('kpi.change', { delta: signed(int(Math.abs(respDelta)), respDelta) }))));
    const cards = [csatCard, meanCard, respCard];
    if (extraCard) cards.push(extraCard);
    if (storesBelow !== null) {
      cards.push(h('div', { class: 'card kpi ' + (storesBelow ? 'is-below' : 'is-good') },
        h('div', { class: 'label' }, t('kpi.below')),
        h('div', { class: 'value', id: 'kpi-below', 'data-value': storesBelow }, int(storesBelow)),
        h('div', { class: 'line' }, t('kpi.below.hint', { total: int(storesWithData) })),
        h('div', { class: 'line' }, t('kpi.target', { target: pct(data.target_csat) }))));
    }
    return h('div', { class: 'grid kpis' }, cards);
  }

  const STORE_COLUMNS = [
    { key: 'store', label: () => t('col.store'), value: (r) => r.store, text: true },
    { key: 'responses', label: () => t('col.responses'), value: (r) => r.current.responses, num: true },
    { key: 'mean', label: () => t('col.mean'), value: (r) => r.current.mean_stars, num: true },
    { key: 'csat', label: () => t('col.csat'), value: (r) => r.current.csat, num: true },
    ...SEGUE.map((k) => ({ key: 'segue.' + k, label: () => t('segue.short.' + k), title: () => t('segue.' + k), value: (r) => r.current.segue[k], num: true })),
    { key: 'change', label: () => t('col.change'), value: (r) => r.change.csat, num: true },
    { key: 'status', label: () => t('col.status'), value: (r) => (r.below_target ? 0 : r.current.responses ? 1 : 2) },
  ];

  function sortRows(rows) {
    const col = STORE_COLUMNS.find((c) => c.key === state.sort.key) || STORE_COLUMNS[0];
    const dir = state.sort.dir === 'ascending' ? 1 : -1;
    return [...rows].sort((a, b) => {
      const va = col.value(a), vb = col.value(b);
      if (va === null || va === undefined) return vb === null || vb === undefined ? a.store.localeCompare(b.store) : 1;
      if (vb === null || vb === undefined) return -1;
      const c = col.text ? String(va).localeCompare(String(vb)) : va - vb;
      return c !== 0 ? c * dir : a.store.localeCompare(b.store);
    });
  }

  function storeTable(data) {
    const head = h('tr', {}, STORE_COLUMNS.map((c) => h('th', {
      scope: 'col', class: c.num ? 'num' : null, 'data-key': c.key,
      'aria-sort': state.sort.key === c.key ? state.sort.dir : null, title: c.title ? c.title() : null,
    }, h('button', {
      type: 'button',
      onclick: () => {
        state.sort = { key: c.key, dir: state.sort.key === c.key && state.sort.dir === 'ascending' ? 'descending' : 'ascending' };
        const table = document.getElementById('stores-table');
        table.replaceWith(storeTable(data));
      },
    }, c.label()))));
    const body = sortRows(data.stores).map((r) => {
      const cur = r.current;
      return h('tr', { 'data-store': r.store, class: r.below_target ? 'is-below' : null },
        h('td', {}, h('a', { class: 'store-link', href: '#/store/' + encodeURIComponent(r.store) }, r.store)),
        h('td', { class: 'num', 'data-value': cur.responses }, int(cur.responses)),
        h('td', { class: 'num', 'data-value': cur.mean_stars ?? '' }, dec(cur.mean_stars, 2)),
        h('td', { class: 'num', 'data-value': cur.csat ?? '' }, pct(cur.csat),
          h('span', { class: 'meter' + (r.below_target ? ' bad' : ''), 'aria-hidden': 'true' }, h('span', { style: { width: ((cur.csat || 0) * 100) + '%' } }))),
        SEGUE.map((k) => h('td', { class: 'num', 'data-value': cur.segue[k] ?? '' }, dec(cur.segue[k], 2))),
        h('td', { class: 'num' }, r.change.csat === null ? none() : deltaSpan(r.change.csat, pts(r.change.csat))),
        h('td', {}, targetBadge(cur, r.below_target)));
    });
    return h('table', { id: 'stores-table' }, h('thead', {}, head), h('tbody', {}, body));
  }

  function pageHead(title, sub, filters, back) {
    return h('div', { class: 'page-head' },
      h('div', {}, back || null, h('h1', { id: 'page-title' }, title), h('div', { class: 'sub muted small', id: 'period-label' }, sub)),
      filters);
  }

  function periodText(data) {
    return t('period.range', { from: dateLabel(data.from, true), to: dateLabel(data.to, true) }) + ' · ' +
      t('period.vs', { from: dateLabel(data.previous.from), to: dateLabel(data.previous.to) });
  }

  function loadingView(title) {
    setMain(pageHead(title, t('common.loading'), null), h('div', { class: 'card empty' }, t('common.loading')));
  }

  function errorView(title, e, retry) {
    if (e instanceof Unauthorized) return logout(t('login.error.invalid'));
    setMain(pageHead(title, '', null), h('div', { class: 'card error-box' }, t('common.error', { message: e.message }),
      h('div', {}, h('button', { class: 'btn', type: 'button', onclick: retry }, t('action.retry')))));
  }

  async function showOverview() {
    let data = null;
    const view = {
      render() {
        if (!data) return loadingView(t('nav.overview'));
        state.lastRange = { from: data.from, to: data.to };
        const withData = data.stores.filter((r) => r.current.responses > 0).length;
        const below = data.stores.filter((r) => r.below_target).length;
        const chartEl = h('div', { class: 'chart', id: 'trend-chart' });
        setMain(
          pageHead(t('nav.overview'), periodText(data), periodBar((reload) => (reload ? showOverview() : view.render()))),
          kpiCards(data, below, withData),
          h('section', { class: 'card' },
            h('div', { class: 'card-head' }, h('h2', {}, t('chart.trend')), h('span', { class: 'legend-note' }, t('kpi.csat.hint'))),
            data.total.responses ? chartEl : h('div', { class: 'empty' }, t('common.empty'))),
          h('section', { class: 'card spaced' },
            h('div', { class: 'card-head' }, h('h2', { id: 'stores-title' }, t('stores.title')), h('span', { class: 'legend-note' }, t('stores.hint'))),
            h('div', { class: 'table-wrap' }, storeTable(data))));
        if (data.total.responses) trendChart(chartEl, data.days, data.target_csat);
      },
    };
    state.view = view;
    view.render();
    try {
      data = await api('/api/v1/overview?' + periodQuery());
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(t('nav.overview'), e, showOverview);
    }
  }

  // ---------- store page ----------

  function hbars(items, max, cls) {
    return h('div', { class: 'hbars' }, items.map((it) => h('div', { class: 'hbar ' + (cls || ''), 'data-key': it.key },
      h('span', {}, it.label),
      h('span', { class: 'track', 'aria-hidden': 'true' }, h('span', { class: 'fill', style: { width: (it.value === null ? 0 : (it.value / max) * 100) + '%', display: 'block' } })),
      h('span', { class: 'v', 'data-value': it.value ?? '' }, it.text))));
  }

  function fleetRows(devices, withStore) {
    return devices.map((d) => {
      const badges = [];
      if (d.revoked) badges.push(badge('neutral', t('badge.revoked'), 'revoked'));
      if (d.silent) badges.push(badge('bad', t('badge.silent'), 'silent'));
      if (d.clock_skewed) badges.push(badge('warn', t('badge.skew'), 'skew'));
      if (!badges.length) badges.push(badge('good', t('badge.ok'), 'ok'));
      let seen;
      if (d.last_seen) seen = h('span', { title: dateTime(d.last_seen) }, t('time.ago', { t: duration(d.silent_s ?? 0) }));
      else seen = h('span', {}, d.silent_s === null ? t('time.never') : t('time.enrolled', { t: duration(d.silent_s) }));
      return h('tr', { 'data-device': d.id, class: d.silent ? 'is-below' : d.clock_skewed ? 'is-flagged' : null },
        h('td', {}, h('div', {}, d.name), h('div', { class: 'id' }, d.id)),
        withStore ? h('td', {}, h('a', { class: 'store-link', href: '#/store/' + encodeURIComponent(d.store_id) }, d.store_id)) : null,
        h('td', { 'data-col': 'last-seen' }, seen),
        h('td', { class: 'num' }, int(d.last_pending)),
        h('td', {}, d.app_version || none()),
        h('td', { class: 'num', 'data-value': d.clock_offset_ms ?? '' }, clockOffset(d.clock_offset_ms)),
        h('td', { class: 'num' }, int(d.rejected)),
        h('td', {}, h('div', { class: 'badges' }, badges)));
    });
  }

  function fleetTable(devices, withStore, id) {
    const cols = [['col.terminal'], withStore ? ['col.store'] : null, ['col.lastSeen'], ['col.pending', true], ['col.version'],
      ['col.offset', true], ['col.rejected', true], ['col.status']].filter(Boolean);
    return h('table', { id },
      h('thead', {}, h('tr', {}, cols.map(([k, num]) => h('th', { scope: 'col', class: num ? 'num' : null }, t(k))))),
      h('tbody', {}, fleetRows(devices, withStore)));
  }

  async function showStore(store) {
    let data = null;
    const view = {
      render() {
        const back = h('a', { class: 'back', href: '#/overview' }, t('store.back'));
        if (!data) return setMain(pageHead(t('store.title', { id: store }), t('common.loading'), null, back), h('div', { class: 'card empty' }, t('common.loading')));
        state.lastRange = { from: data.from, to: data.to };
        const total = data.total;
        const trendEl = h('div', { class: 'chart', id: 'store-trend' });
        const hoursEl = h('div', { class: 'chart', id: 'hours-chart' });
        const reasons = Object.entries(total.tags).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
        const maxReason = reasons.length ? reasons[0][1] : 1;
        setMain(
          pageHead(t('store.title', { id: store }), periodText(data), periodBar((reload) => (reload ? showStore(store) : view.render()), store), back),
          kpiCards(data, null, 0, terminalCard(data.terminals)),
          h('section', { class: 'card' },
            h('div', { class: 'card-head' }, h('h2', {}, t('chart.trend.store')), h('span', { class: 'legend-note' }, t('kpi.csat.hint'))),
            total.responses ? trendEl : h('div', { class: 'empty' }, t('common.empty'))),
          h('div', { class: 'grid two' },
            h('section', { class: 'card', id: 'segue-means' },
              h('div', { class: 'card-head' }, h('h2', {}, t('store.segue')), h('span', { class: 'legend-note' }, t('store.segue.hint'))),
              hbars(SEGUE.map((k) => ({ key: k, label: t('segue.' + k), value: total.segue[k], text: dec(total.segue[k], 2) })), 5)),
            h('section', { class: 'card', id: 'reasons' },
              h('div', { class: 'card-head' }, h('h2', {}, t('store.reasons')), h('span', { class: 'legend-note' }, t('store.reasons.hint'))),
              reasons.length
                ? hbars(reasons.map(([k, n]) => ({ key: k, label: t('reason.' + k) === 'reason.' + k ? k : t('reason.' + k), value: n, text: int(n) })), maxReason, 'reason')
                : h('div', { class: 'empty' }, t('store.noreasons')))),
          h('section', { class: 'card spaced' },
            h('div', { class: 'card-head' }, h('h2', {}, t('store.hours'))),
            total.responses ? hoursEl : h('div', { class: 'empty' }, t('common.empty'))),
          h('section', { class: 'card spaced' },
            h('div', { class: 'card-head' }, h('h2', {}, t('store.terminals'))),
            h('div', { class: 'table-wrap' }, fleetTable(data.devices, false, 'store-terminals'))));
        if (total.responses) {
          trendChart(trendEl, data.days, data.target_csat);
          hoursChart(hoursEl, total.by_hour);
        }
      },
    };
    state.view = view;
    view.render();
    try {
      data = await api('/api/v1/stores/' + encodeURIComponent(store) + '/summary?' + periodQuery());
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(t('store.title', { id: store }), e, () => showStore(store));
    }
  }

  // ---------- fleet ----------

  async function showFleet() {
    let data = null;
    const view = {
      render() {
        if (!data) return loadingView(t('fleet.title'));
        const s = data.summary;
        const chips = [h('span', { class: 'chip', id: 'fleet-count' }, t('fleet.count', { n: int(s.devices) }))];
        if (s.silent) chips.push(h('span', { class: 'chip bad', id: 'fleet-silent' }, t('fleet.silent', { n: int(s.silent) })));
        if (s.clock_skewed) chips.push(h('span', { class: 'chip warn', id: 'fleet-skewed' }, t('fleet.skewed', { n: int(s.clock_skewed) })));
        if (!s.silent && !s.clock_skewed) chips.push(h('span', { class: 'chip' }, t('fleet.allgood')));
        chips.push(h('span', { class: 'chip' }, t('fleet.pending', { n: int(s.pending) })));
        const hint = t('fleet.hint', { hours: dec(data.silent_after_hours, 0), minutes: dec(data.max_clock_offset_ms / 60000, 0) });
        // Flagged terminals first, so the morning's problems are at the top.
        const devices = [...data.devices].sort((a, b) =>
          (Number(b.silent) + Number(b.clock_skewed)) - (Number(a.silent) + Number(a.clock_skewed)) ||
          a.store_id.localeCompare(b.store_id) || a.name.localeCompare(b.name));
        setMain(pageHead(t('fleet.title'), hint, null),
          h('div', { class: 'summary-chips' }, chips),
          h('section', { class: 'card' }, h('div', { class: 'table-wrap' }, fleetTable(devices, true, 'fleet-table'))));
      },
    };
    state.view = view;
    view.render();
    try {
      data = await api('/api/v1/fleet');
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(t('fleet.title'), e, showFleet);
    }
  }

  // ---------- alerts ----------

  function alertText(a) {
    const d = a.details || {};
    if (a.rule === 'low_satisfaction') return t('alert.low_satisfaction', { csat: pct(d.csat), responses: int(d.responses), threshold: pct(d.threshold) });
    if (a.rule === 'low_ratings') return t('alert.low_ratings', { ratings: int(d.ratings), max: d.max_stars, window: int(d.window_min) });
    if (a.rule === 'silent_terminal') return t('alert.silent_terminal', { name: d.device_name || a.device_id, hours: dec(d.silent_hours, 1) });
    return a.message;
  }

  function deliveryBadge(a) {
    if (a.state === 'delivered') return badge('good', t('state.delivered'), 'delivered');
    if (a.state === 'failed') return badge('bad', t('state.failed', { n: a.attempts }), 'failed');
    return badge('warn', a.attempts ? t('state.pending.at', { n: a.attempts + 1, t: dateTime(a.next_attempt_at) }) : t('state.pending'), 'pending');
  }

  async function showAlerts() {
    let data = null;
    const view = {
      render() {
        if (!data) return loadingView(t('alerts.title'));
        let body;
        if (!data.enabled && !data.alerts.length) body = h('div', { class: 'empty' }, t('alerts.disabled'));
        else if (!data.alerts.length) body = h('div', { class: 'empty' }, t('alerts.empty'));
        else {
          body = h('div', { class: 'table-wrap' }, h('table', { id: 'alerts-table' },
            h('thead', {}, h('tr', {}, ['col.time', 'col.rule', 'col.subject', 'col.message', 'col.delivery'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h('tbody', {}, data.alerts.map((a) => h('tr', { 'data-alert': a.key, 'data-state': a.state },
              h('td', { title: a.raised_at }, dateTime(a.raised_at)),
              h('td', {}, t('rule.' + a.rule)),
              h('td', {}, h('a', { class: 'store-link', href: '#/store/' + encodeURIComponent(a.store_id) }, a.store_id),
                a.device_id ? h('div', { class: 'id' }, a.device_id) : null),
              h('td', {}, alertText(a)),
              h('td', {}, deliveryBadge(a)))))));
        }
        const sub = [t('alerts.hint')];
        if (data.rules.length) sub.push(t('alerts.rules', { rules: data.rules.map((r) => t('rule.' + r)).join(t('list.sep')) }));
        setMain(pageHead(t('alerts.title'), sub.join(' '), null), h('section', { class: 'card' }, body));
      },
    };
    state.view = view;
    view.render();
    try {
      data = await api('/api/v1/alerts');
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(t('alerts.title'), e, showAlerts);
    }
  }

  // ---------- routing ----------

  function route() {
    if (!state.token) return renderLogin();
    renderChrome();
    const parts = (location.hash || '#/overview').replace(/^#\/?/, '').split('/');
    if (parts[0] === 'store' && parts[1]) return showStore(decodeURIComponent(parts[1]));
    if (parts[0] === 'fleet') return showFleet();
    if (parts[0] === 'alerts') return showAlerts();
    return showOverview();
  }

  let resizeTimer = null;
  // A resize only resizes the charts in place: rebuilding the page would drop a click that lands
  // between its mousedown and mouseup, and the reader's scroll position and focus.
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of state.charts) c.setSize({ width: chartWidth(c.root.parentElement), height: c.height });
    }, 200);
  });
  window.addEventListener('hashchange', route);

  loadLanguage(pickLanguage()).then(route, (e) => {
    document.getElementById('main').textContent = 'SEGUE HQ: ' + e.message;
  });
})();
