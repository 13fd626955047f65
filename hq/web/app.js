// SEGUE HQ dashboard. Every figure comes from segue-hq's JSON API, which computes it with the
// same scoring code as the terminals; this script only fetches, formats and draws.
(function () {
  'use strict';

  const LANGS = ['zh-CN', 'en'];
  const SEGUE = ['satisfactory', 'efficient', 'genuine', 'understanding', 'effective'];
  const TOKEN_KEY = 'segue.hq.token';
  const LANG_KEY = 'segue.hq.lang';
  const CSRF_KEY = 'segue.hq.csrf';
  const LOGIN_KEY = 'segue.hq.login';   // which login form this browser used last: password | token
  const PAGE_SIZE = 50;
  const ADMIN_TABS = ['surveys', 'users', 'places', 'tokens', 'audit'];

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    me: null,             // GET /api/v1/me: who is signed in (a session or a read token) and their scope
    csrf: localStorage.getItem(CSRF_KEY),
    stores: { region: null, q: '', offset: 0 },   // the overview's store table: filter and page
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
  class ApiError extends Error {
    constructor(message, status, code, field) { super(message); this.status = status; this.code = code; this.field = field; }
  }

  /// A read token goes in the Authorization header; a session rides on its cookie, and every
  /// change it makes carries the CSRF token its login returned.
  function authHeaders(method) {
    if (state.token) return { Authorization: 'Bearer ' + state.token };
    if (method !== 'GET' && state.csrf) return { 'X-CSRF-Token': state.csrf };
    return {};
  }

  async function api(path, opts) {
    const method = (opts && opts.method) || 'GET';
    const headers = authHeaders(method);
    let body;
    if (opts && opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const res = await fetch(path, { method, headers, body, cache: 'no-store' });
    if (res.status === 401) throw new Unauthorized('401');
    if (!res.ok) {
      let message = 'HTTP ' + res.status, code = '', field = null;
      try { const e = await res.json(); message = e.message || message; code = e.error || ''; field = e.field || null; } catch (e) { /* not JSON */ }
      throw new ApiError(message, res.status, code, field);
    }
    return res.status === 204 ? null : res.json();
  }

  function signedIn() { return Boolean(state.token || state.me); }
  function isAdmin() { return Boolean(state.me && state.me.kind === 'session' && state.me.role === 'admin'); }

  function periodQuery() {
    const p = state.period;
    if (p.preset === 'custom' && p.from && p.to) return 'from=' + p.from + '&to=' + p.to;
    return 'period=' + (p.preset === 'custom' ? '7d' : p.preset);
  }

  function logout(message) {
    // Ends the session on HQ too (a token has nothing to end); the page forgets it either way.
    if (state.me && state.me.kind === 'session') api('/api/v1/session', { method: 'DELETE' }).catch(() => {});
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(CSRF_KEY);
    state.token = null;
    state.me = null;
    state.csrf = null;
    state.view = null;
    destroyCharts();
    renderLogin(message);
  }

  function scopeText(me) {
    if (me.store) return t('scope.store', { id: me.store });
    if (me.region) return t('scope.region', { id: me.region });
    return t('scope.chain');
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
    bar.hidden = !signedIn();
    document.getElementById('brand-name').textContent = t('app.brand');
    document.getElementById('brand-product').textContent = t('app.product');
    const current = (location.hash.split('?')[0] || '#/overview').split('/')[1] || 'overview';
    const tabs = document.getElementById('tabs');
    const names = ['overview', 'cases', 'complaints', 'fleet', 'alerts', ...(isAdmin() ? ADMIN_TABS : [])];
    tabs.replaceChildren(...names.map((name) => h('a', {
      href: '#/' + name, 'data-tab': name,
      'aria-current': (current === name || (name === 'overview' && current === 'store') || (name === 'cases' && current === 'case')) ? 'page' : null,
    }, t('nav.' + name))));
    keepCurrentTabInView(tabs);
    const who = document.getElementById('whoami');
    if (state.me) {
      const name = state.me.kind === 'session' ? state.me.email : t('who.token');
      who.replaceChildren(h('span', { class: 'who-name' }, name),
        h('span', { class: 'who-scope', 'data-role': state.me.role }, t('role.' + state.me.role) + ' · ' + scopeText(state.me)));
    } else who.replaceChildren();
    document.getElementById('lang-switch').replaceChildren(...langButtons());
    const out = document.getElementById('logout');
    out.textContent = t('action.logout');
    // Narrow windows hide the who-am-I block: the button still says who would sign out.
    out.title = state.me ? (state.me.kind === 'session' ? state.me.email : t('who.token')) + ' · ' + t('role.' + state.me.role) + ' · ' + scopeText(state.me) : '';
    out.onclick = () => logout();
  }

  /// Where the tab strip scrolls sideways (a narrow window), the current page's tab is scrolled into it.
  function keepCurrentTabInView(tabs) {
    const active = tabs.querySelector('[aria-current="page"]');
    if (active && tabs.scrollWidth > tabs.clientWidth) {
      const a = active.getBoundingClientRect(), b = tabs.getBoundingClientRect();
      if (a.right > b.right) tabs.scrollLeft += a.right - b.right;
      else if (a.left < b.left) tabs.scrollLeft -= b.left - a.left;
    }
    markTabOverflow(tabs);
  }

  /// Fades the strip's edge where more tabs lie beyond it, so a hidden tab does not go unnoticed.
  function markTabOverflow(tabs) {
    tabs.classList.toggle('more-right', tabs.scrollLeft + tabs.clientWidth < tabs.scrollWidth - 1);
    tabs.classList.toggle('more-left', tabs.scrollLeft > 1);
  }
  for (const type of ['scroll', 'resize'])
    (type === 'scroll' ? document.getElementById('tabs') : window).addEventListener(type, () => markTabOverflow(document.getElementById('tabs')), { passive: true });

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

  function renderLogin(message, mode) {
    document.getElementById('topbar').hidden = true;
    const useToken = (mode || localStorage.getItem(LOGIN_KEY)) === 'token';
    const error = h('div', { class: 'form-error', id: 'login-error', role: 'alert' }, message || '');
    const submit = h('button', { class: 'btn primary', type: 'submit', id: 'signin' }, t('action.signin'));
    const field = (id, type, label, extra) => [h('label', { for: id }, label), h('input', { id, type, spellcheck: 'false', ...extra })];
    const fields = useToken
      ? field('token', 'password', t('login.token'), { autocomplete: 'off', placeholder: t('login.placeholder'), 'aria-describedby': 'login-error' })
      : [...field('email', 'email', t('login.email'), { autocomplete: 'username', 'aria-describedby': 'login-error' }),
        ...field('password', 'password', t('login.password'), { autocomplete: 'current-password', 'aria-describedby': 'login-error' })];
    const switchLink = h('a', {
      href: '#/login', id: useToken ? 'use-password' : 'use-token', class: 'small',
      onclick: (ev) => { ev.preventDefault(); renderLogin('', useToken ? 'password' : 'token'); },
    }, useToken ? t('login.usePassword') : t('login.useToken'));
    const value = (id) => document.getElementById(id).value;
    const form = h('form', {
      class: 'login', id: 'login-form', novalidate: true, 'data-mode': useToken ? 'token' : 'password',
      onsubmit: async (ev) => {
        ev.preventDefault();
        error.textContent = '';
        if (useToken ? !value('token').trim() : !value('email').trim() || !value('password')) {
          error.textContent = t(useToken ? 'login.error.empty' : 'login.error.emptyPassword');
          return;
        }
        submit.disabled = true;
        try {
          if (useToken) {
            state.token = value('token').trim();
            await api('/api/v1/stores');
            sessionStorage.setItem(TOKEN_KEY, state.token);
          } else {
            const me = await api('/api/v1/session', { method: 'POST', body: { email: value('email').trim(), password: value('password') } });
            state.csrf = me.csrf;
            localStorage.setItem(CSRF_KEY, me.csrf);
          }
          localStorage.setItem(LOGIN_KEY, useToken ? 'token' : 'password');
          state.me = await api('/api/v1/me');
          if (!location.hash || location.hash.startsWith('#/login')) location.hash = '#/overview';
          route();
        } catch (e) {
          state.token = null;
          state.me = null;
          if (e instanceof Unauthorized) error.textContent = t(useToken ? 'login.error.invalid' : 'login.error.password');
          else if (e instanceof ApiError && e.status === 429) error.textContent = t('login.error.throttled');
          else error.textContent = t('login.error.network');
          submit.disabled = false;
        }
      },
    },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '★'), t('app.brand')),
    h('h1', {}, t('login.title')),
    h('p', { class: 'muted' }, t('login.lead')),
    fields, error, submit,
    h('p', { class: 'muted small' }, useToken ? t('login.hint') : t('login.passwordHint')),
    h('div', { class: 'lang-row' }, switchLink, h('span', { class: 'spacer' }), langButtons()));
    setMain(h('div', { class: 'login-wrap' }, form));
    state.view = null;
    document.getElementById(useToken ? 'token' : 'email').focus();
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
      const res = await fetch('/api/v1/responses.csv?' + params, { headers: authHeaders('GET') });
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
    for (const extra of [].concat(extraCard || [])) if (extra) cards.push(extra);
    if (storesBelow !== null) {
      cards.push(h('div', { class: 'card kpi ' + (storesBelow ? 'is-below' : 'is-good') },
        h('div', { class: 'label' }, t('kpi.below')),
        h('div', { class: 'value', id: 'kpi-below', 'data-value': storesBelow }, int(storesBelow)),
        h('div', { class: 'line' }, t('kpi.below.hint', { total: int(storesWithData) })),
        h('div', { class: 'line' }, t('kpi.target', { target: pct(data.target_csat) }))));
    }
    return h('div', { class: 'grid kpis' }, cards);
  }

  // `sort`: the key /api/v1/stores sorts by on the server (columns without one do not sort).
  const STORE_COLUMNS = [
    { key: 'store', sort: 'store', label: () => t('col.store') },
    { key: 'name', label: () => t('col.name') },
    { key: 'region', label: () => t('col.region') },
    { key: 'responses', sort: 'responses', label: () => t('col.responses'), num: true },
    { key: 'mean', sort: 'mean_stars', label: () => t('col.mean'), num: true },
    { key: 'csat', sort: 'csat', label: () => t('col.csat'), num: true },
    ...SEGUE.map((k) => ({ key: 'segue.' + k, label: () => t('segue.short.' + k), title: () => t('segue.' + k), num: true })),
    { key: 'change', sort: 'change', label: () => t('col.change'), num: true },
    { key: 'status', label: () => t('col.status') },
  ];

  function storesQuery() {
    const p = new URLSearchParams(periodQuery());
    const col = STORE_COLUMNS.find((c) => c.key === state.sort.key && c.sort) || STORE_COLUMNS.find((c) => c.key === 'csat');
    p.set('sort', col.sort);
    p.set('order', state.sort.dir === 'ascending' ? 'asc' : 'desc');
    p.set('limit', String(PAGE_SIZE));
    p.set('offset', String(state.stores.offset));
    if (state.stores.region !== null) p.set('region', state.stores.region === '' ? 'none' : state.stores.region);
    if (state.stores.q) p.set('q', state.stores.q);
    return p.toString();
  }

  function regionName(id, regions) {
    if (id === null || id === undefined) return t('region.none');
    const r = (regions || []).find((x) => x.id === id);
    return r ? r.name : id;
  }

  /// One page of /api/v1/stores, sorted and paged by HQ; a header click asks HQ for the new order.
  function storeTable(page, regions, reload) {
    const head = h('tr', {}, STORE_COLUMNS.map((c) => h('th', {
      scope: 'col', class: c.num ? 'num' : null, 'data-key': c.key,
      'aria-sort': state.sort.key === c.key ? state.sort.dir : null, title: c.title ? c.title() : null,
    }, c.sort ? h('button', {
      type: 'button',
      onclick: () => {
        state.sort = { key: c.key, dir: state.sort.key === c.key && state.sort.dir === 'ascending' ? 'descending' : 'ascending' };
        state.stores.offset = 0;
        reload();
      },
    }, c.label()) : c.label())));
    const body = page.stores.map((r) => {
      const cur = r.current;
      return h('tr', { 'data-store': r.store, class: r.below_target ? 'is-below' : null },
        h('td', {}, h('a', { class: 'store-link', href: '#/store/' + encodeURIComponent(r.store) }, r.store)),
        h('td', {}, r.name || none()),
        h('td', {}, regionName(r.region, regions)),
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

  function storeFilters(regions, reload) {
    const select = h('select', { id: 'store-region', 'aria-label': t('stores.region') },
      h('option', { value: '*', selected: state.stores.region === null }, t('stores.allRegions')),
      regions.filter((r) => r.id !== null).map((r) => h('option', { value: r.id, selected: state.stores.region === r.id }, r.name)),
      regions.some((r) => r.id === null) ? h('option', { value: '', selected: state.stores.region === '' }, t('region.none')) : null);
    select.addEventListener('change', () => {
      state.stores.region = select.value === '*' ? null : select.value;
      state.stores.offset = 0;
      reload();
    });
    let timer = null;
    const search = h('input', { id: 'store-search', type: 'search', value: state.stores.q, placeholder: t('stores.search'), 'aria-label': t('stores.search') });
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.stores.q = search.value.trim(); state.stores.offset = 0; reload(); }, 300);
    });
    return h('div', { class: 'store-filters' }, select, search);
  }

  function pager(page, reload) {
    const first = page.total ? page.offset + 1 : 0;
    const last = page.offset + page.stores.length;
    const move = (delta) => { state.stores.offset = Math.max(0, state.stores.offset + delta); reload(); };
    return h('div', { class: 'pager' },
      h('button', { class: 'btn', type: 'button', id: 'stores-prev', disabled: page.offset === 0, onclick: () => move(-PAGE_SIZE) }, t('pager.prev')),
      h('span', { id: 'stores-range', 'data-total': page.total }, t('pager.range', { first: int(first), last: int(last), total: int(page.total) })),
      h('button', { class: 'btn', type: 'button', id: 'stores-next', disabled: last >= page.total, onclick: () => move(PAGE_SIZE) }, t('pager.next')));
  }

  function regionTable(regions) {
    const pick = (id) => {
      state.stores.region = id === null ? '' : id;
      state.stores.offset = 0;
      showOverview();
    };
    return h('table', { id: 'regions-table' },
      h('thead', {}, h('tr', {}, ['col.region', 'col.stores', 'col.responses', 'col.mean', 'col.csat', 'col.change', 'col.belowStores'].map((k, i) =>
        h('th', { scope: 'col', class: i ? 'num' : null }, t(k))))),
      h('tbody', {}, regions.map((r) => h('tr', { 'data-region': r.id === null ? 'none' : r.id, class: r.below_target ? 'is-below' : null },
        h('td', {}, h('button', { type: 'button', class: 'link-button region-link', onclick: () => pick(r.id) }, r.id === null ? t('region.none') : r.name)),
        h('td', { class: 'num', 'data-value': r.stores }, int(r.stores)),
        h('td', { class: 'num', 'data-value': r.current.responses }, int(r.current.responses)),
        h('td', { class: 'num', 'data-value': r.current.mean_stars ?? '' }, dec(r.current.mean_stars, 2)),
        h('td', { class: 'num', 'data-value': r.current.csat ?? '' }, pct(r.current.csat)),
        h('td', { class: 'num' }, r.change.csat === null ? none() : deltaSpan(r.change.csat, pts(r.change.csat))),
        h('td', { class: 'num', 'data-value': r.stores_below_target }, int(r.stores_below_target))))));
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
    let data = null, regions = null, page = null, cases = null;
    const view = {
      render() {
        if (!data || !regions || !page) return loadingView(t('nav.overview'));
        state.lastRange = { from: data.from, to: data.to };
        // Counted by HQ over every store: the overview's "stores" holds the first 100 only.
        const withData = data.stores_with_responses;
        const below = data.stores_below_target;
        const chartEl = h('div', { class: 'chart', id: 'trend-chart' });
        setMain(
          pageHead(t('nav.overview'), periodText(data), periodBar((reload) => (reload ? showOverview() : view.render()))),
          kpiCards(data, below, withData, slaCard(cases)),
          h('section', { class: 'card' },
            h('div', { class: 'card-head' }, h('h2', {}, t('chart.trend')), h('span', { class: 'legend-note' }, t('kpi.csat.hint'))),
            data.total.responses ? chartEl : h('div', { class: 'empty' }, t('common.empty'))),
          h('section', { class: 'card spaced' },
            h('div', { class: 'card-head' }, h('h2', { id: 'regions-title' }, t('regions.title')), h('span', { class: 'legend-note' }, t('regions.hint'))),
            h('div', { class: 'table-wrap' }, regionTable(regions.regions))),
          h('section', { class: 'card spaced' },
            h('div', { class: 'card-head' }, h('h2', { id: 'stores-title' }, t('stores.title')), h('span', { class: 'legend-note' }, t('stores.hint'))),
            storeFilters(regions.regions, reloadStores),
            h('div', { class: 'table-wrap', id: 'stores-wrap' }, storeTable(page, regions.regions, reloadStores)),
            pager(page, reloadStores)));
        if (data.total.responses) trendChart(chartEl, data.days, data.target_csat);
      },
    };
    // A new page of stores replaces the table and pager only: the charts and filters stay.
    async function reloadStores() {
      try {
        const next = await api('/api/v1/stores?' + storesQuery());
        if (state.view !== view) return;
        page = next;
        document.getElementById('stores-wrap').replaceChildren(storeTable(page, regions.regions, reloadStores));
        document.querySelector('.pager').replaceWith(pager(page, reloadStores));
      } catch (e) {
        if (state.view === view) errorView(t('nav.overview'), e, showOverview);
      }
    }
    state.view = view;
    view.render();
    try {
      [data, regions, page, cases] = await Promise.all([api('/api/v1/overview?' + periodQuery()),
        api('/api/v1/regions?' + periodQuery()), api('/api/v1/stores?' + storesQuery()),
        api('/api/v1/cases/summary?' + periodQuery()).catch(() => null)]);
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
        withStore ? surveyCell(d) : null,
        h('td', {}, h('div', { class: 'badges' }, badges)));
    });
  }

  // The survey version a terminal runs (as its batches say), whether it is its store's assigned
  // one, and a definition it refused (the reason as the badge's title).
  function surveyCell(d) {
    const parts = [];
    if (d.applied_survey) parts.push(h('span', { 'data-col': 'survey-version' }, 'v' + d.applied_survey.version));
    else parts.push(none());
    if (d.survey_current === false && d.assigned_survey)
      parts.push(badge('warn', t('badge.surveyOld', { v: d.assigned_survey.version }), 'survey-old'));
    if (d.config_error) {
      const b = badge('bad', t('badge.configError'), 'config-error');
      b.title = d.config_error;
      parts.push(b);
    }
    return h('td', { 'data-col': 'survey' }, h('div', { class: 'badges' }, parts));
  }

  function fleetTable(devices, withStore, id) {
    const cols = [['col.terminal'], withStore ? ['col.store'] : null, ['col.lastSeen'], ['col.pending', true], ['col.version'],
      ['col.offset', true], ['col.rejected', true], withStore ? ['col.survey'] : null, ['col.status']].filter(Boolean);
    return h('table', { id },
      h('thead', {}, h('tr', {}, cols.map(([k, num]) => h('th', { scope: 'col', class: num ? 'num' : null }, t(k))))),
      h('tbody', {}, fleetRows(devices, withStore)));
  }

  /// The period's figures per survey version, shown only when more than one version was answered.
  function versionSplit(versions) {
    if (!versions || versions.length < 2) return null;
    const reasonName = (k) => (t('reason.' + k) === 'reason.' + k ? k : t('reason.' + k));
    const cols = [['col.surveyVersion'], ['col.responses', true], ['col.mean', true], ['col.csat', true],
      ...SEGUE.map((k) => ['segue.' + k, true]), ['store.reasons']];
    const rows = versions.map((v) => h('tr', { 'data-survey': v.survey_id, 'data-version': String(v.version) },
      h('td', {}, h('div', {}, 'v' + v.version), h('div', { class: 'id' }, v.survey_id)),
      h('td', { class: 'num', 'data-col': 'responses', 'data-value': v.responses }, int(v.responses)),
      h('td', { class: 'num', 'data-col': 'mean', 'data-value': v.mean_stars ?? '' }, dec(v.mean_stars, 2)),
      h('td', { class: 'num', 'data-col': 'csat', 'data-value': v.csat ?? '' }, pct(v.csat)),
      SEGUE.map((k) => h('td', { class: 'num', 'data-col': 'segue-' + k, 'data-value': v.segue[k] ?? '' }, dec(v.segue[k], 2))),
      h('td', { class: 'small', 'data-col': 'tags' }, Object.keys(v.tags).length
        ? Object.entries(v.tags).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => reasonName(k) + ' ' + int(n)).join(' · ')
        : none())));
    return h('section', { class: 'card spaced', id: 'version-split' },
      h('div', { class: 'card-head' }, h('h2', {}, t('store.versions')), h('span', { class: 'legend-note' }, t('store.versions.hint'))),
      h('div', { class: 'table-wrap' }, h('table', { id: 'version-table' },
        h('thead', {}, h('tr', {}, cols.map(([k, num]) => h('th', { scope: 'col', class: num ? 'num' : null }, t(k))))),
        h('tbody', {}, rows))));
  }

  async function showStore(store) {
    let data = null, cases = null;
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
          kpiCards(data, null, 0, [terminalCard(data.terminals), slaCard(cases)]),
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
          versionSplit(data.survey_versions),
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
      [data, cases] = await Promise.all([api('/api/v1/stores/' + encodeURIComponent(store) + '/summary?by=survey_version&' + periodQuery()),
        api('/api/v1/cases/summary?store=' + encodeURIComponent(store) + '&' + periodQuery()).catch(() => null)]);
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
        if (s.survey_outdated) chips.push(h('span', { class: 'chip warn', id: 'fleet-outdated' }, t('fleet.outdated', { n: int(s.survey_outdated) })));
        if (s.config_errors) chips.push(h('span', { class: 'chip bad', id: 'fleet-config-errors' }, t('fleet.configErrors', { n: int(s.config_errors) })));
        chips.push(h('span', { class: 'chip' }, t('fleet.pending', { n: int(s.pending) })));
        const hint = t('fleet.hint', { hours: dec(data.silent_after_hours, 0), minutes: dec(data.max_clock_offset_ms / 60000, 0) });
        // Flagged terminals first, so the morning's problems are at the top.
        const devices = [...data.devices].sort((a, b) =>
          (Number(b.silent) + Number(b.clock_skewed)) - (Number(a.silent) + Number(a.clock_skewed)) ||
          a.store_id.localeCompare(b.store_id) || a.name.localeCompare(b.name));
        setMain(pageHead(t('fleet.title'), hint, mayEnrol() ? enrolButton(showFleet) : null),
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

  // ---------- enrolment codes (fleet page) ----------

  /// Admins, and region managers for the stores of their region, issue enrolment codes.
  function mayEnrol() {
    return Boolean(state.me && state.me.kind === 'session' && (state.me.role === 'admin' || state.me.role === 'region'));
  }

  function enrolButton(reload) {
    return h('button', { class: 'btn primary', type: 'button', id: 'enrol-open', onclick: () => openEnrolDialog(reload) }, t('enrol.open'));
  }

  /// A dialog: store and name, then the one-time code grouped as 1234-5678-9012 with its expiry.
  async function openEnrolDialog(reload) {
    document.getElementById('enrol-dialog')?.remove();
    const error = h('div', { class: 'form-error', id: 'enrol-error', role: 'alert' });
    const stores = h('datalist', { id: 'enrol-stores' });
    const close = (changed) => { dialog.close(); dialog.remove(); if (changed) reload(); };
    const form = h('form', {
      class: 'enrol-form', id: 'enrol-form', method: 'dialog',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = {
          store_id: document.getElementById('enrol-store').value.trim(),
          name: document.getElementById('enrol-name').value.trim(),
          code_ttl_h: Number(document.getElementById('enrol-ttl').value),
        };
        let reply = null;
        const submit = document.getElementById('enrol-submit');
        submit.disabled = true;
        if (await change(error, async () => { reply = await api('/api/v1/devices', { method: 'POST', body }); })) showCode(reply, body.name);
        else submit.disabled = false;
      },
    },
    h('label', { class: 'field' }, h('span', {}, t('enrol.store')), h('input', { id: 'enrol-store', list: 'enrol-stores', required: true, autocomplete: 'off' })), stores,
    h('label', { class: 'field' }, h('span', {}, t('enrol.name')), h('input', { id: 'enrol-name', required: true, maxlength: 200, placeholder: t('enrol.namePlaceholder') })),
    h('label', { class: 'field' }, h('span', {}, t('enrol.ttl')),
      h('select', { id: 'enrol-ttl' }, [24, 72, 168].map((n) => h('option', { value: String(n), selected: n === 72 }, t('enrol.hours', { n }))))),
    error,
    h('div', { class: 'dialog-actions' },
      h('button', { class: 'btn', type: 'button', id: 'enrol-cancel', onclick: () => close(false) }, t('enrol.cancel')),
      h('button', { class: 'btn primary', type: 'submit', id: 'enrol-submit' }, t('enrol.submit'))));
    const dialog = h('dialog', { id: 'enrol-dialog', class: 'dialog', 'aria-labelledby': 'enrol-title' },
      h('h2', { id: 'enrol-title' }, t('enrol.title')), h('p', { class: 'muted small' }, t('enrol.hint')), form);
    // The code replaces the form; it is never shown again (HQ keeps only its hash).
    function showCode(reply, name) {
      form.replaceWith(h('div', { id: 'enrol-result' },
        h('div', { class: 'muted small' }, t('enrol.for', { name, store: reply.store_id })),
        h('code', { class: 'enrol-code', id: 'enrol-code', 'data-device': reply.device_id }, reply.enrolment_code),
        h('p', { class: 'enrol-instruction', id: 'enrol-instruction' }, t('enrol.instruction')),
        h('p', { class: 'muted small', id: 'enrol-expires', 'data-value': reply.expires_at },
          t('enrol.expires', { t: new Intl.DateTimeFormat(state.lang, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(reply.expires_at)) })),
        h('p', { class: 'muted small' }, t('enrol.once')),
        h('div', { class: 'dialog-actions' }, h('button', { class: 'btn primary', type: 'button', id: 'enrol-done', onclick: () => close(true) }, t('enrol.done')))));
    }
    dialog.addEventListener('cancel', () => setTimeout(() => dialog.remove(), 0));
    document.body.append(dialog);
    dialog.showModal();
    try {
      const list = await api('/api/v1/stores?period=today&sort=store&limit=500');
      stores.replaceChildren(...list.stores.map((st) => h('option', { value: st.id }, st.name ? st.name + ' (' + st.id + ')' : st.id)));
      if (list.stores.length === 1) document.getElementById('enrol-store').value = list.stores[0].id;
    } catch (e) { /* the store can still be typed */ }
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

  // ---------- admin (users, regions and stores, tokens, audit log) ----------

  function roleText(u) {
    return t('role.' + u.role) + (u.region ? ' · ' + t('scope.region', { id: u.region }) : '') +
      (u.store ? ' · ' + t('scope.store', { id: u.store }) : '');
  }

  /// Runs a change and shows HQ's refusal in `errorEl` (a 400's sentence, a 403's reason).
  async function change(errorEl, fn) {
    errorEl.textContent = '';
    try {
      await fn();
      return true;
    } catch (e) {
      if (e instanceof Unauthorized) { logout(t('login.error.invalid')); return false; }
      errorEl.textContent = e.code === 'csrf' ? t('admin.error.csrf') : t('common.error', { message: e.message });
      return false;
    }
  }

  function input(id, label, attrs) {
    return h('label', { class: 'field' }, h('span', {}, label), h('input', { id, ...(attrs || {}) }));
  }

  function regionSelect(id, regions, selected, withNone) {
    return h('select', { id },
      withNone ? h('option', { value: '', selected: !selected }, t('region.none')) : null,
      regions.filter((r) => r.id !== null).map((r) => h('option', { value: r.id, selected: r.id === selected }, r.name + ' (' + r.id + ')')));
  }

  function usersPage(data, reload) {
    const error = h('div', { class: 'form-error', id: 'admin-error', role: 'alert' });
    const roleSel = h('select', { id: 'user-role' }, ['viewer', 'store', 'region', 'admin'].map((r) => h('option', { value: r }, t('role.' + r))));
    const form = h('form', {
      class: 'admin-form', id: 'user-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const v = (id) => document.getElementById(id).value;
        const body = { email: v('user-email'), role: v('user-role'), password: v('user-password') };
        if (body.role === 'region') body.region = v('user-region');
        if (body.role === 'store') body.store = v('user-store');
        if (await change(error, () => api('/api/v1/users', { method: 'POST', body }))) reload();
      },
    }, input('user-email', t('admin.email'), { type: 'email', autocomplete: 'off' }),
    h('label', { class: 'field' }, h('span', {}, t('admin.role')), roleSel),
    h('label', { class: 'field' }, h('span', {}, t('col.region')), regionSelect('user-region', data.regions, null, false)),
    input('user-store', t('col.store'), { type: 'text' }),
    input('user-password', t('admin.password'), { type: 'password', autocomplete: 'new-password' }),
    h('button', { class: 'btn primary', type: 'submit', id: 'user-add' }, t('admin.addUser')));
    const patch = (id, body) => change(error, () => api('/api/v1/users/' + id, { method: 'PATCH', body })).then((ok) => ok && reload());
    const rows = data.users.map((u) => h('tr', { 'data-user': u.email, 'data-disabled': String(u.disabled) },
      h('td', {}, u.email),
      h('td', { 'data-col': 'role' }, roleText(u)),
      h('td', {}, u.disabled ? badge('neutral', t('admin.disabled'), 'disabled') : badge('good', t('admin.active'), 'active')),
      h('td', { class: 'actions' },
        h('select', {
          'data-action': 'role', 'aria-label': t('admin.role'),
          onchange: (ev) => {
            const role = ev.target.value;
            const body = { role };
            if (role === 'region') body.region = prompt(t('admin.askRegion')) || '';
            if (role === 'store') body.store = prompt(t('admin.askStore')) || '';
            patch(u.id, body);
          },
        }, ['viewer', 'store', 'region', 'admin'].map((r) => h('option', { value: r, selected: r === u.role }, t('role.' + r)))),
        h('button', { class: 'btn', type: 'button', 'data-action': 'password', onclick: () => {
          const password = prompt(t('admin.askPassword'));
          if (password) patch(u.id, { password });
        } }, t('admin.resetPassword')),
        u.disabled
          ? h('button', { class: 'btn', type: 'button', 'data-action': 'enable', onclick: () => patch(u.id, { enabled: true }) }, t('admin.enable'))
          : h('button', { class: 'btn', type: 'button', 'data-action': 'disable', onclick: () => patch(u.id, { disabled: true }) }, t('admin.disable')))));
    return [h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, t('admin.addUser'))), form, error),
      h('section', { class: 'card spaced' }, h('div', { class: 'table-wrap' }, h('table', { id: 'users-table' },
        h('thead', {}, h('tr', {}, ['admin.email', 'admin.role', 'col.status', 'admin.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, rows))))];
  }

  function placesPage(data, reload) {
    const error = h('div', { class: 'form-error', id: 'admin-error', role: 'alert' });
    const regionForm = h('form', {
      class: 'admin-form', id: 'region-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = { id: document.getElementById('region-id').value.trim(), name: document.getElementById('region-name').value.trim() };
        if (await change(error, () => api('/api/v1/regions', { method: 'POST', body }))) reload();
      },
    }, input('region-id', t('admin.regionId'), { type: 'text' }), input('region-name', t('admin.regionName'), { type: 'text' }),
    h('button', { class: 'btn primary', type: 'submit', id: 'region-add' }, t('admin.addRegion')));
    const regions = data.regions.filter((r) => r.id !== null);
    const regionRows = regions.map((r) => h('tr', { 'data-region': r.id },
      h('td', {}, r.id), h('td', {}, r.name), h('td', { class: 'num' }, int(r.stores)),
      h('td', { class: 'actions' }, h('button', { class: 'btn', type: 'button', 'data-action': 'rename', onclick: async () => {
        const name = prompt(t('admin.askName'), r.name);
        if (name && await change(error, () => api('/api/v1/regions/' + encodeURIComponent(r.id), { method: 'PATCH', body: { name } }))) reload();
      } }, t('admin.rename')))));
    const storeRows = data.stores.stores.map((st) => {
      const name = h('input', { type: 'text', value: st.name || '', 'data-field': 'name', 'aria-label': t('col.name') });
      const region = regionSelect('', regions, st.region, true);
      region.removeAttribute('id');
      region.setAttribute('data-field', 'region');
      return h('tr', { 'data-store': st.id },
        h('td', {}, st.id), h('td', {}, name), h('td', {}, region),
        h('td', { class: 'actions' }, h('button', { class: 'btn', type: 'button', 'data-action': 'save', onclick: async () => {
          const body = { region: region.value === '' ? null : region.value };
          if (name.value.trim()) body.name = name.value.trim();
          if (await change(error, () => api('/api/v1/stores/' + encodeURIComponent(st.id), { method: 'PATCH', body }))) reload();
        } }, t('admin.save'))));
    });
    return [h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, t('admin.regions'))), regionForm, error,
      h('div', { class: 'table-wrap' }, h('table', { id: 'admin-regions' },
        h('thead', {}, h('tr', {}, ['admin.regionId', 'admin.regionName', 'col.stores', 'admin.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, regionRows)))),
    h('section', { class: 'card spaced' }, h('div', { class: 'card-head' }, h('h2', {}, t('stores.title')), h('span', { class: 'legend-note' }, t('admin.storesHint'))),
      storeFilters(data.regions, reload),
      h('div', { class: 'table-wrap' }, h('table', { id: 'admin-stores' },
        h('thead', {}, h('tr', {}, ['col.store', 'col.name', 'col.region', 'admin.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, storeRows))),
      pager(data.stores, reload))];
  }

  /// The read tokens HQ holds (never a token itself): scope, created, last use, revoke.
  function tokenList(tokens, error, reload) {
    const scopeOf = (tk) => (tk.store ? t('scope.store', { id: tk.store }) : tk.region ? t('scope.region', { id: tk.region }) : t('scope.chain'));
    const rows = tokens.map((tk) => h('tr', { 'data-token': String(tk.id), 'data-revoked': String(tk.revoked) },
      h('td', { class: 'num' }, String(tk.id)),
      h('td', {}, scopeOf(tk)),
      h('td', { title: tk.created_at }, dateTime(tk.created_at)),
      h('td', { title: tk.last_used_at || '' }, tk.last_used_at ? dateTime(tk.last_used_at) : t('admin.never')),
      h('td', {}, tk.revoked ? badge('neutral', t('admin.revoked'), 'revoked') : badge('good', t('admin.active'), 'active')),
      h('td', { class: 'actions' }, tk.revoked ? null : h('button', { class: 'btn', type: 'button', 'data-action': 'revoke', onclick: async () => {
        if (!confirm(t('admin.askRevoke', { id: tk.id }))) return;
        if (await change(error, () => api('/api/v1/tokens/' + tk.id, { method: 'DELETE' }))) reload();
      } }, t('admin.revoke')))));
    return h('section', { class: 'card spaced' }, h('div', { class: 'card-head' }, h('h2', {}, t('admin.tokens'))),
      h('div', { class: 'table-wrap' }, h('table', { id: 'tokens-table' },
        h('thead', {}, h('tr', {}, ['admin.tokenId', 'admin.scope', 'admin.created', 'admin.lastUsed', 'col.status', 'admin.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, rows))));
  }

  function tokensPage(data, reload) {
    const error = h('div', { class: 'form-error', id: 'admin-error', role: 'alert' });
    const shown = h('div', { id: 'new-token', class: 'token-once' });
    const scope = h('select', { id: 'token-scope' }, h('option', { value: '' }, t('scope.chain')),
      data.regions.filter((r) => r.id !== null).map((r) => h('option', { value: 'region:' + r.id }, t('scope.region', { id: r.name }))));
    const form = h('form', {
      class: 'admin-form', id: 'token-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = { role: 'read' };
        const store = document.getElementById('token-store').value.trim();
        if (store) body.store = store;
        else if (scope.value) body.region = scope.value.slice('region:'.length);
        let reply = null;
        if (await change(error, async () => { reply = await api('/api/v1/tokens', { method: 'POST', body }); })) {
          shown.replaceChildren(h('div', { class: 'muted small' }, t('admin.tokenOnce')), h('code', { id: 'token-value' }, reply.token));
          // The new token joins the list; the one-time value stays shown above it.
          try {
            data.tokens = (await api('/api/v1/tokens')).tokens;
            document.getElementById('tokens-table').closest('section').replaceWith(tokenList(data.tokens, error, reload));
          } catch (e) { error.textContent = t('common.error', { message: e.message }); }
        }
      },
    }, h('label', { class: 'field' }, h('span', {}, t('admin.scope')), scope), input('token-store', t('admin.orStore'), { type: 'text' }),
    h('button', { class: 'btn primary', type: 'submit', id: 'token-add' }, t('admin.addToken')));
    return [h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, t('admin.addToken')), h('span', { class: 'legend-note' }, t('admin.tokensHint'))), form, error, shown),
      tokenList(data.tokens, error, reload)];
  }

  function auditPage(data) {
    return [h('section', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { id: 'audit-table' },
      h('thead', {}, h('tr', {}, ['col.time', 'admin.actor', 'admin.action', 'admin.subject', 'admin.address', 'admin.details'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, data.entries.map((e) => h('tr', { 'data-action': e.action },
        h('td', { title: e.at }, dateTime(e.at)), h('td', {}, e.actor), h('td', {}, t('audit.' + e.action) === 'audit.' + e.action ? e.action : t('audit.' + e.action)),
        h('td', {}, e.subject), h('td', {}, e.address || none()), h('td', { class: 'small' }, JSON.stringify(e.details))))))))];
  }

  async function showAdmin(tab) {
    const title = () => t('nav.' + tab);   // read at each render: the language may have switched
    let data = null;
    const load = async () => {
      const regions = tab === 'audit' ? null : (await api('/api/v1/regions?period=today')).regions;
      if (tab === 'users') return { regions, users: (await api('/api/v1/users')).users };
      if (tab === 'places') {
        const p = new URLSearchParams({ period: 'today', sort: 'store', limit: String(PAGE_SIZE), offset: String(state.stores.offset) });
        if (state.stores.region !== null) p.set('region', state.stores.region === '' ? 'none' : state.stores.region);
        if (state.stores.q) p.set('q', state.stores.q);
        return { regions, stores: await api('/api/v1/stores?' + p) };
      }
      if (tab === 'tokens') return { regions, tokens: (await api('/api/v1/tokens')).tokens };
      return api('/api/v1/audit');
    };
    const reload = () => showAdmin(tab);
    const view = {
      render() {
        if (!data) return loadingView(title());
        const parts = { users: usersPage, places: placesPage, tokens: tokensPage, audit: auditPage }[tab](data, reload);
        setMain(pageHead(title(), t('admin.hint.' + tab), null), ...parts);
      },
    };
    state.view = view;
    view.render();
    try {
      data = await load();
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(title(), e, reload);
    }
  }


  // ---------- callback cases ----------

  /// The 24-hour figure: the share of callback requests first handled before they fell due,
  /// against the service-level plan's 80%.
  function slaCard(sum) {
    if (!sum) return null;
    const share = sum.share_within_sla;
    const below = share !== null && share < sum.target_share;
    return h('div', { class: 'card kpi ' + (share === null ? '' : below ? 'is-below' : 'is-good'), id: 'kpi-sla' },
      h('div', { class: 'label' }, t('kpi.sla', { hours: dec(sum.sla_hours, 0) })),
      h('div', { class: 'value', id: 'kpi-sla-value', 'data-value': share === null ? '' : share }, pct(share)),
      h('div', { class: 'line' }, share === null ? badge('neutral', t('badge.nodata'), 'nodata')
        : below ? badge('bad', t('badge.below'), 'below') : badge('good', t('badge.ontarget'), 'ontarget'),
      h('span', {}, t('kpi.target', { target: pct(sum.target_share) }))),
      h('div', { class: 'line' }, t('kpi.sla.line', { within: int(sum.contacted_within_sla), requests: int(sum.requests), open: int(sum.open), overdue: int(sum.overdue) })));
  }

  function reasonLabel(k) { return t('reason.' + k) === 'reason.' + k ? k : t('reason.' + k); }
  function causeLabel(k) { return t('cause.' + k) === 'cause.' + k ? k : t('cause.' + k); }
  function stars(n) { return h('span', { class: 'stars', 'data-value': n, title: t('case.stars', { n }) }, '★'.repeat(n) + '☆'.repeat(5 - n)); }

  function statusBadge(c) {
    if (c.overdue) return badge('bad', t('case.status.overdue'), 'overdue');
    const kind = { open: 'warn', contacted: 'neutral', resolved: 'good', unreachable: 'neutral' }[c.status] || 'neutral';
    return badge(kind, t('case.status.' + c.status), c.status);
  }

  function dueText(c) {
    const left = (Date.parse(c.due_at) - Date.now()) / 1000;
    if (c.status !== 'open') return h('span', { class: 'muted' }, dateTime(c.due_at));
    return h('span', { class: c.overdue ? 'overdue' : null, title: dateTime(c.due_at) },
      c.overdue ? t('case.overdueBy', { t: duration(-left) }) : t('case.dueIn', { t: duration(left) }));
  }

  const CASE_STATUSES = ['open', 'overdue', 'closed', 'all'];
  state.cases = { status: 'open', store: '' };

  async function showCases() {
    let data = null;
    const title = () => t('cases.title');
    const view = {
      render() {
        if (!data) return loadingView(title());
        const f = state.cases;
        const statusButtons = CASE_STATUSES.map((k) => h('button', {
          type: 'button', 'data-status': k, 'aria-pressed': String(f.status === k),
          onclick: () => { state.cases.status = k; showCases(); },
        }, t('cases.filter.' + k)));
        const store = h('input', { id: 'cases-store', type: 'search', value: f.store, placeholder: t('cases.store'), 'aria-label': t('cases.store') });
        store.addEventListener('change', () => { state.cases.store = store.value.trim(); showCases(); });
        const rows = data.cases.map((c) => h('tr', { 'data-case': c.id, class: c.overdue ? 'is-below' : null },
          h('td', {}, h('a', { class: 'case-link', href: '#/case/' + c.id }, '#' + c.id)),
          h('td', {}, h('a', { class: 'store-link', href: '#/store/' + encodeURIComponent(c.store) }, c.store)),
          h('td', {}, dateTime(c.created_at)),
          h('td', {}, stars(c.stars)),
          h('td', {}, c.tags.length ? c.tags.map(reasonLabel).join('、') : none()),
          h('td', { 'data-col': 'due' }, dueText(c)),
          h('td', {}, statusBadge(c))));
        setMain(
          pageHead(title(), t('cases.hint', { hours: dec(data.sla_hours, 0) }),
            h('div', { class: 'filters' }, h('div', { class: 'segmented', role: 'group', 'aria-label': t('cases.filter') }, statusButtons), store)),
          h('section', { class: 'card' },
            data.cases.length
              ? h('div', { class: 'table-wrap' }, h('table', { id: 'cases-table' },
                h('thead', {}, h('tr', {}, ['col.case', 'col.store', 'col.created', 'col.stars', 'col.reasons', 'col.due', 'col.status']
                  .map((k) => h('th', { scope: 'col' }, t(k))))),
                h('tbody', {}, rows)))
              : h('div', { class: 'empty', id: 'cases-empty' }, t('cases.empty'))));
      },
    };
    state.view = view;
    view.render();
    try {
      const q = new URLSearchParams({ status: state.cases.status });
      if (state.cases.store) q.set('store', state.cases.store);
      data = await api('/api/v1/cases?' + q);
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(title(), e, showCases);
    }
  }

  const NEXT_STATUSES = { open: ['contacted', 'unreachable'], contacted: ['resolved', 'unreachable'] };

  async function showCase(id) {
    let c = null, phone = null, confirming = false, message = '';
    const title = () => t('case.title', { id });
    const session = Boolean(state.me && state.me.kind === 'session');
    const view = {
      render() {
        const back = h('a', { class: 'back', href: '#/cases' }, t('case.back'));
        if (!c) return setMain(pageHead(title(), t('common.loading'), null, back), h('div', { class: 'card empty' }, t('common.loading')));
        const segue = h('div', { class: 'case-segue' }, SEGUE.map((k) => h('div', {},
          h('span', { class: 'muted small' }, t('segue.' + k)), ' ', h('strong', {}, c.segue[k] === null ? none() : String(c.segue[k])))));
        let contactBox;
        if (phone) contactBox = h('div', { class: 'phone', id: 'case-phone' }, phone);
        else if (!c.contact_kept) contactBox = h('p', { class: 'muted', id: 'case-erased' }, t('case.erased', { t: dateTime(c.contact_erased_at) }));
        else if (!session) contactBox = h('p', { class: 'muted', id: 'case-token' }, t('case.tokenNoNumber'));
        else if (confirming) contactBox = h('div', { class: 'confirm', id: 'case-confirm', role: 'alertdialog', 'aria-labelledby': 'case-confirm-text' },
          h('p', { id: 'case-confirm-text' }, t('case.confirm', { user: state.me.email })),
          h('button', { class: 'btn primary', type: 'button', id: 'case-confirm-yes', onclick: openNumber }, t('case.confirmYes')), ' ',
          h('button', { class: 'btn', type: 'button', id: 'case-confirm-no', onclick: () => { confirming = false; view.render(); } }, t('case.cancel')));
        else contactBox = h('button', { class: 'btn', type: 'button', id: 'case-show-number', onclick: () => { confirming = true; view.render(); } }, t('case.showNumber'));
        const next = NEXT_STATUSES[c.status] || [];
        const statusSel = h('select', { id: 'case-next', 'aria-label': t('case.newStatus') }, next.map((k) => h('option', { value: k }, t('case.status.' + k))));
        const causeSel = h('select', { id: 'case-cause', 'aria-label': t('case.rootCause') },
          h('option', { value: '' }, t('case.pickCause')), (c.root_causes || []).map((k) => h('option', { value: k }, causeLabel(k))));
        const causeRow = h('label', { class: 'field', hidden: statusSel.value !== 'resolved' }, t('case.rootCause'), causeSel);
        statusSel.addEventListener('change', () => { causeRow.hidden = statusSel.value !== 'resolved'; });
        const note = h('textarea', { id: 'case-note', rows: 3, maxlength: 2000, 'aria-label': t('case.note'), placeholder: t('case.notePlaceholder') });
        const error = h('div', { class: 'form-error', id: 'case-error', role: 'alert' }, message);
        const moveForm = next.length && session
          ? h('form', {
            class: 'case-move', id: 'case-move',
            onsubmit: async (ev) => {
              ev.preventDefault();
              const body = { status: statusSel.value, note: note.value };
              if (statusSel.value === 'resolved') {
                if (!causeSel.value) { error.textContent = t('case.needCause'); return; }
                body.root_cause = causeSel.value;
              }
              try {
                c = await api('/api/v1/cases/' + encodeURIComponent(id), { method: 'POST', body });
                message = '';
              } catch (e) {
                if (e instanceof Unauthorized) return logout(t('login.error.invalid'));
                message = t('common.error', { message: e.message });
              }
              if (state.view === view) view.render();
            },
          },
          h('label', { class: 'field' }, t('case.newStatus'), statusSel), causeRow,
          h('label', { class: 'field' }, t('case.note'), note), error,
          h('button', { class: 'btn primary', type: 'submit', id: 'case-save' }, t('case.save')))
          : h('p', { class: 'muted' }, next.length ? t('case.tokenNoChange') : t('case.closed'));
        const history = c.history.length
          ? h('table', { id: 'case-history' },
            h('thead', {}, h('tr', {}, ['col.when', 'col.by', 'col.change', 'col.note'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h('tbody', {}, c.history.map((e) => h('tr', {},
              h('td', {}, dateTime(e.at)), h('td', {}, e.by),
              h('td', {}, t('case.status.' + e.from) + ' → ' + t('case.status.' + e.to) + (e.root_cause ? ' · ' + causeLabel(e.root_cause) : '')),
              h('td', {}, e.note || none())))))
          : h('div', { class: 'empty' }, t('case.noHistory'));
        setMain(
          pageHead(title(), t('case.sub', { store: c.store, device: c.device, at: dateTime(c.created_at) }), null, back),
          h('div', { class: 'grid two' },
            h('section', { class: 'card', id: 'case-facts' },
              h('div', { class: 'card-head' }, h('h2', {}, t('case.facts')), statusBadge(c)),
              h('dl', { class: 'facts' },
                h('dt', {}, t('col.stars')), h('dd', {}, stars(c.stars)),
                h('dt', {}, t('col.reasons')), h('dd', {}, c.tags.length ? c.tags.map(reasonLabel).join('、') : none()),
                h('dt', {}, t('col.due')), h('dd', {}, dueText(c)),
                h('dt', {}, t('case.language')), h('dd', {}, c.language)),
              segue),
            h('section', { class: 'card', id: 'case-contact' },
              h('div', { class: 'card-head' }, h('h2', {}, t('case.contact'))),
              h('p', { class: 'muted small' }, t('case.contactHint')), contactBox,
              h('h2', { class: 'spaced' }, t('case.change')), moveForm)),
          h('section', { class: 'card spaced' }, h('div', { class: 'card-head' }, h('h2', {}, t('case.history'))),
            h('div', { class: 'table-wrap' }, history)));
      },
    };
    async function openNumber() {
      try {
        phone = (await api('/api/v1/cases/' + encodeURIComponent(id) + '/contact', { method: 'POST', body: {} })).phone;
      } catch (e) {
        if (e instanceof Unauthorized) return logout(t('login.error.invalid'));
        message = e.status === 410 ? t('case.erased', { t: '' }) : t('common.error', { message: e.message });
      }
      confirming = false;
      if (state.view === view) view.render();
    }
    state.view = view;
    view.render();
    try {
      c = await api('/api/v1/cases/' + encodeURIComponent(id));
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(title(), e, () => showCase(id));
    }
  }

  // ---------- complaint analysis ----------

  /// Reasons as a Pareto chart: bars sorted by count, the cumulative share as a line to 100%.
  function paretoChart(el, rows) {
    const xs = rows.map((_, i) => i);
    const label = (i) => (rows[i] ? reasonLabel(rows[i].tag) : '');
    const chart = new uPlot({
      width: chartWidth(el), height: 280,
      legend: { live: false },
      cursor: { points: { size: 7 } },
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, rows.length - 0.5)] }, n: { range: (u, min, max) => [0, Math.max(4, max * 1.15)] }, pct: { range: [0, 100] } },
      series: [
        { label: t('col.reason'), value: (u, i) => (i === null || i === undefined ? '–' : label(i)) },
        { label: t('chart.count'), scale: 'n', paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false }, fill: '#0f5f5a', stroke: '#0f5f5a', width: 0, value: (u, v) => (v === null ? '–' : int(v)) },
        { label: t('chart.previous'), scale: 'n', stroke: '#8a94a6', dash: [4, 4], width: 1.5, points: { show: true, size: 6, fill: '#8a94a6' }, value: (u, v) => (v === null ? '–' : int(v)) },
        { label: t('chart.cumulative'), scale: 'pct', stroke: '#b42318', width: 2, points: { show: true, size: 6, fill: '#b42318' }, value: (u, v) => (v === null ? '–' : dec(v, 1) + '%') },
      ],
      axes: [
        { splits: () => xs, values: (u, splits) => splits.map(label), grid: { show: false } },
        { scale: 'n', values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? int(v) : '')), size: 44 },
        { scale: 'pct', side: 1, grid: { show: false }, values: (u, vals) => vals.map((v) => v + '%'), size: 50 },
      ],
    }, [xs, rows.map((r) => r.count), rows.map((r) => r.previous), rows.map((r) => (r.cumulative_share === null ? null : r.cumulative_share * 100))], el);
    state.charts.push(chart);
  }

  state.complaints = { region: '', store: '' };

  async function showComplaints() {
    let data = null, regions = null;
    const title = () => t('complaints.title');
    const view = {
      render() {
        if (!data || !regions) return loadingView(title());
        state.lastRange = { from: data.from, to: data.to };
        const f = state.complaints;
        const region = h('select', { id: 'complaints-region', 'aria-label': t('stores.region') },
          h('option', { value: '', selected: !f.region }, t('complaints.wholeScope')),
          regions.regions.filter((r) => r.id !== null).map((r) => h('option', { value: r.id, selected: f.region === r.id }, r.name)));
        region.addEventListener('change', () => { state.complaints.region = region.value; state.complaints.store = ''; showComplaints(); });
        const store = h('input', { id: 'complaints-store', type: 'search', value: f.store, placeholder: t('cases.store'), 'aria-label': t('cases.store') });
        store.addEventListener('change', () => { state.complaints.store = store.value.trim(); showComplaints(); });
        const chartEl = h('div', { class: 'chart', id: 'pareto-chart' });
        const rows = data.reasons.map((r) => {
          const delta = r.count - r.previous;
          return h('tr', { 'data-tag': r.tag },
            h('td', {}, reasonLabel(r.tag)),
            h('td', { class: 'num', 'data-value': r.count }, int(r.count)),
            h('td', { class: 'num', 'data-value': r.previous }, int(r.previous)),
            h('td', { class: 'num', 'data-value': delta }, deltaSpan(-delta, signed(int(Math.abs(delta)), delta))),
            h('td', { class: 'num', 'data-value': r.share ?? '' }, pct(r.share)),
            h('td', { class: 'num', 'data-value': r.cumulative_share ?? '' }, pct(r.cumulative_share)));
        });
        const maxCause = data.root_causes.length ? data.root_causes[0].count : 1;
        setMain(
          pageHead(title(), periodText(data), h('div', { class: 'filters' }, periodBar((reload) => (reload ? showComplaints() : view.render())), region, store)),
          h('section', { class: 'card' },
            h('div', { class: 'card-head' }, h('h2', {}, t('complaints.pareto')),
              h('span', { class: 'legend-note' }, t('complaints.lowRatings', { n: int(data.not_satisfied), before: int(data.previous_not_satisfied) }))),
            data.reasons.length ? chartEl : h('div', { class: 'empty' }, t('complaints.none'))),
          h('div', { class: 'grid two' },
            h('section', { class: 'card', id: 'complaints-reasons' },
              h('div', { class: 'card-head' }, h('h2', {}, t('complaints.table'))),
              data.reasons.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'reasons-table' },
                h('thead', {}, h('tr', {}, ['col.reason', 'col.count', 'col.previous', 'col.change', 'col.share', 'col.cumulative']
                  .map((k, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t(k))))),
                h('tbody', {}, rows))) : h('div', { class: 'empty' }, t('complaints.none'))),
            h('section', { class: 'card', id: 'root-causes' },
              h('div', { class: 'card-head' }, h('h2', {}, t('complaints.causes')), h('span', { class: 'legend-note' }, t('complaints.causes.hint'))),
              data.root_causes.length
                ? hbars(data.root_causes.map((r) => ({ key: r.root_cause, label: causeLabel(r.root_cause), value: r.count, text: int(r.count) })), maxCause, 'reason')
                : h('div', { class: 'empty' }, t('complaints.noCauses')))));
        if (data.reasons.length) paretoChart(chartEl, data.reasons);
      },
    };
    state.view = view;
    view.render();
    try {
      const q = new URLSearchParams(periodQuery());
      if (state.complaints.region) q.set('region', state.complaints.region);
      if (state.complaints.store) q.set('store', state.complaints.store);
      [data, regions] = await Promise.all([api('/api/v1/reasons?' + q), api('/api/v1/regions?' + periodQuery())]);
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(title(), e, showComplaints);
    }
  }

  // ---------- surveys (administrators: versions and assignments, edit, preview, publish, rollback) ----------

  const SCOPE_KINDS = ['chain', 'region', 'store'];
  const SURVEY_SETTINGS = [
    { key: 'thank_you_s', min: 1, max: 60, step: 1 },
    { key: 'inactivity_timeout_s', min: 5, max: 600, step: 1 },
    { key: 'misuse_window_s', min: 0, max: 60, step: 1 },
    { key: 'target_csat', min: 0.01, max: 1, step: 0.01 },
  ];
  const CALLBACK_SETTINGS = [
    { key: 'callback_max_stars', min: 0, max: 5, step: 1 },
    { key: 'contact_retention_days', min: 1, max: 3650, step: 1 },
  ];
  const LANG_NAMES = { 'zh-CN': '中文', en: 'English' };

  function scopeLabel(s) { return s.kind === 'chain' ? t('scope.chain') : t('scope.' + s.kind, { id: s.id }); }
  function scopeKey(s) { return s.kind === 'chain' ? 'chain' : s.kind + ':' + s.id; }
  function versionHref(id, v, edit) { return '#/surveys/' + encodeURIComponent(id) + '/' + v + (edit ? '/edit' : ''); }
  function versionName(id, v) { return t('surveys.versionName', { id, v }); }
  function assignedByText(by) { return t('surveys.by.' + by); }

  /// The words a terminal shows in `lang`: the survey's own label for a tag, else the terminal's.
  function terminalWord(words, lang, key) { return ((words || {})[lang] || {})[key]; }
  function tagId(tag) { return typeof tag === 'string' ? tag : tag.id; }
  function tagLabelIn(tag, words, lang) {
    if (typeof tag === 'object' && tag.labels && tag.labels[lang]) return tag.labels[lang];
    return terminalWord(words, lang, 'tag.' + tagId(tag));
  }

  /// A version's definition made ready for editing: every tag an object with a label in each
  /// language (a built-in tag gets the terminal's words), so that publishing it needs no more.
  function editableDraft(definition, words) {
    const d = JSON.parse(JSON.stringify(definition));
    d.tags = (d.tags || []).map((tag) => {
      const labels = {};
      for (const lang of d.languages || []) {
        const label = tagLabelIn(tag, words, lang);
        if (label) labels[lang] = label;
      }
      return { id: tagId(tag), labels: { ...labels, ...(typeof tag === 'object' ? tag.labels : {}) } };
    });
    return d;
  }

  // The preview: the terminal's screens as a customer meets them, in one language.
  function previewScreen(kind, caption, ...children) {
    return h('div', { class: 'kiosk-screen', 'data-screen': kind },
      h('div', { class: 'kiosk-caption' }, caption), h('div', { class: 'kiosk-body' }, children));
  }

  function surveyPreview(def, words, lang) {
    const w = (key, vars) => {
      let s = terminalWord(words, lang, key);
      if (s === undefined) return key;
      for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
      return s;
    };
    const langs = Array.isArray(def.languages) ? def.languages : [];
    const items = Array.isArray(def.items) ? def.items : [];
    const other = langs.find((l) => l !== lang);
    const screens = [previewScreen('stars', t('surveys.preview.stars'),
      h('div', { class: 'kiosk-question' }, w('attract.question')),
      h('div', { class: 'kiosk-stars' }, [1, 2, 3, 4, 5].map((n) => h('div', { class: 'kiosk-star' },
        h('span', { class: 'glyph', 'aria-hidden': 'true' }, '★'), h('span', { class: 'kiosk-label' }, w('stars.' + n))))),
      h('div', { class: 'kiosk-hint' }, w('attract.hint')))];
    items.forEach((k, i) => {
      if (!SEGUE.includes(k)) return;
      const name = w('item.' + k + '.name') + (other ? ' · ' + terminalWord(words, other, 'item.' + k + '.name') : '');
      screens.push(previewScreen('item', t('surveys.preview.item', { n: i + 1, total: items.length }),
        h('div', { class: 'kiosk-dim' }, name),
        h('div', { class: 'kiosk-question' }, w('item.' + k + '.question')),
        h('div', { class: 'kiosk-options', 'data-item': k }, [1, 2, 3, 4, 5].map((v) => h('div', { class: 'kiosk-option o' + v },
          h('span', { class: 'swatch', 'aria-hidden': 'true' }), h('span', { class: 'kiosk-label' }, w('item.' + k + '.option.' + v)))))));
    });
    const maxStars = def.reasons_max_stars === undefined ? 3 : def.reasons_max_stars;
    const tags = Array.isArray(def.tags) ? def.tags : [];
    screens.push(previewScreen('reasons', maxStars ? t('surveys.preview.reasons', { n: maxStars }) : t('surveys.preview.noReasons'),
      h('div', { class: 'kiosk-question' }, w('reasons.title')),
      h('div', { class: 'kiosk-hint' }, w('reasons.hint')),
      h('div', { class: 'kiosk-chips' }, tags.slice(0, 6).map((tag) => {
        const label = tagLabelIn(tag, words, lang);
        return h('div', { class: 'kiosk-chip' + (label ? '' : ' missing'), 'data-tag': tagId(tag) },
          label || t('surveys.preview.noLabel', { id: tagId(tag), lang }));
      })),
      h('div', { class: 'kiosk-bar' }, h('span', { class: 'kiosk-button' }, w('button.done')))));
    const settings = def.settings || {};
    if (settings.callback_max_stars || def.callback_consent) {
      const consent = (def.callback_consent || {})[lang] || w('callback.consent');
      screens.push(previewScreen('callback', t('surveys.preview.callback', { n: settings.callback_max_stars ?? 2 }),
        h('div', { class: 'kiosk-question' }, w('callback.title')),
        h('div', { class: 'kiosk-hint' }, consent.split('{days}').join(String(settings.contact_retention_days ?? 30))),
        h('div', { class: 'kiosk-bar' }, h('span', { class: 'kiosk-button' }, w('callback.yes')), h('span', { class: 'kiosk-button ghost' }, w('callback.no')))));
    }
    screens.push(previewScreen('thanks', settings.thank_you_s ? t('surveys.preview.thanks', { n: settings.thank_you_s }) : t('surveys.preview.thanksDefault'),
      h('div', { class: 'kiosk-check', 'aria-hidden': 'true' }, '✓'),
      h('div', { class: 'kiosk-question' }, w('thanks.title')),
      h('div', { class: 'kiosk-hint' }, w('thanks.body'))));
    return h('div', { class: 'kiosk-preview', id: 'survey-preview', lang, 'data-lang': lang }, screens);
  }

  /// A card holding the preview and its own language switch (the terminal's languages, not the page's).
  function previewCard(getDef, words, initialLang) {
    const languagesOf = (def) => (Array.isArray(def.languages) ? def.languages : []).filter((l) => words[l]);
    const langs = languagesOf(getDef());
    let lang = [state.previewLang, initialLang].find((l) => langs.includes(l)) || langs[0] || state.lang;
    const holder = h('div', {});
    const buttons = h('div', { class: 'segmented', role: 'group', 'aria-label': t('surveys.preview.lang') });
    const card = h('section', { class: 'card preview-card', id: 'preview-card' },
      h('div', { class: 'card-head' }, h('h2', {}, t('surveys.preview.title')), buttons),
      h('p', { class: 'muted small' }, t('surveys.preview.hint')), holder);
    const draw = () => {
      const def = getDef();
      const shown = languagesOf(def);
      if (!shown.includes(lang)) lang = shown[0] || lang;
      buttons.replaceChildren(...shown.map((l) => h('button', {
        type: 'button', id: 'preview-lang-' + l, 'data-preview-lang': l, 'aria-pressed': String(l === lang),
        onclick: () => { lang = l; state.previewLang = l; draw(); },
      }, LANG_NAMES[l] || l)));
      holder.replaceChildren(surveyPreview(def, words, lang));
    };
    draw();
    return { card, draw };
  }

  /// Chain, a region or a store: what a publish or an assignment goes to, and what that place runs
  /// now. `memory` keeps the choice across redraws of the page (a language switch, a new tag).
  function scopeChooser(data, prefix, memory) {
    const kept = memory || {};
    const regions = data.scopes.filter((s) => s.kind === 'region');
    const stores = data.scopes.filter((s) => s.kind === 'store');
    const kind = h('select', { id: prefix + '-kind', 'aria-label': t('surveys.scope'), 'data-field': 'scope.kind' },
      SCOPE_KINDS.map((k) => h('option', { value: k }, t('surveys.scope.' + k))));
    const region = h('select', { id: prefix + '-region', 'aria-label': t('col.region'), 'data-field': 'scope.id' },
      regions.map((r) => h('option', { value: r.id }, r.name + ' (' + r.id + ')')));
    const listId = prefix + '-stores';
    const store = h('input', { id: prefix + '-store', type: 'text', list: listId, autocomplete: 'off', spellcheck: 'false',
      placeholder: t('surveys.storePlaceholder'), 'aria-label': t('col.store'), 'data-field': 'scope.id' });
    const datalist = h('datalist', { id: listId }, stores.map((s) => h('option', { value: s.id }, s.name || s.id)));
    const now = h('div', { class: 'muted small scope-now', id: prefix + '-now' });
    const value = () => {
      if (kind.value === 'chain') return { kind: 'chain', id: null };
      if (kind.value === 'region') return region.value ? { kind: 'region', id: region.value } : null;
      const id = store.value.trim();
      return id ? { kind: 'store', id } : null;
    };
    const update = () => {
      region.hidden = kind.value !== 'region';
      store.hidden = kind.value !== 'store';
      const v = value();
      const row = v && data.scopes.find((s) => s.kind === v.kind && (v.kind === 'chain' || s.id === v.id));
      now.textContent = row ? t('surveys.scopeNow', { version: versionName(row.survey_id, row.version), by: assignedByText(row.assigned_by) })
        : v && v.kind === 'store' ? t('surveys.unknownStore', { id: v.id }) : '';
    };
    if (kept.kind) kind.value = kept.kind;
    if (kept.region) region.value = kept.region;
    if (kept.store) store.value = kept.store;
    const remember = () => { kept.kind = kind.value; kept.region = region.value; kept.store = store.value; update(); };
    kind.addEventListener('change', remember);
    region.addEventListener('change', remember);
    store.addEventListener('input', remember);
    update();
    return { el: h('div', { class: 'scope-chooser' }, kind, region, store, datalist, now), value, describe: () => scopeLabel(value() || { kind: 'chain' }) };
  }

  function assignmentChips(v) {
    if (!v.assigned_to.length) return h('span', { class: 'muted' }, t('surveys.unassigned'));
    return h('span', { class: 'badges' }, v.assigned_to.map((a) => h('span', { class: 'badge neutral', 'data-scope': scopeKey(a), title: dateTime(a.assigned_at) }, scopeLabel(a))));
  }

  /// The confirm dialog of an assignment (a rollback when the version is older than the newest).
  function assignDialog(data, surveyId, version, onDone) {
    const chooser = scopeChooser(data, 'assign-scope');
    const error = h('div', { class: 'form-error', id: 'assign-error', role: 'alert' });
    const dialog = h('dialog', { id: 'survey-assign-dialog', class: 'dialog', 'aria-labelledby': 'assign-title' });
    const confirmButton = h('button', { class: 'btn primary', type: 'button', id: 'assign-confirm' }, t('surveys.assignConfirm'));
    confirmButton.addEventListener('click', async () => {
      const scope = chooser.value();
      if (!scope) { error.textContent = t('surveys.pickScope'); return; }
      confirmButton.disabled = true;
      let reply = null;
      const ok = await change(error, async () => {
        reply = await api('/api/v1/surveys/' + encodeURIComponent(surveyId) + '/versions/' + version + '/assign', { method: 'POST', body: { scope } });
      });
      confirmButton.disabled = false;
      if (!ok) return;
      dialog.close();
      dialog.remove();
      state.surveyFlash = t('surveys.assigned', { version: versionName(surveyId, version), place: scopeLabel(reply.scope),
        was: reply.previous ? versionName(reply.previous.survey_id, reply.previous.version) : t('surveys.by.nothing') });
      onDone();
    });
    dialog.append(
      h('h2', { id: 'assign-title' }, t('surveys.assignTitle', { version: versionName(surveyId, version) })),
      h('p', { class: 'muted' }, t('surveys.assignLead')),
      chooser.el, error,
      h('div', { class: 'dialog-buttons' },
        h('button', { class: 'btn', type: 'button', id: 'assign-cancel', onclick: () => { dialog.close(); dialog.remove(); } }, t('case.cancel')),
        confirmButton));
    document.body.append(dialog);
    dialog.showModal();
  }

  function flashBox() {
    const text = state.surveyFlash;
    state.surveyFlash = null;
    return text ? h('div', { class: 'flash', id: 'survey-flash', role: 'status' }, text) : null;
  }

  function surveyVersionsCard(data, reload) {
    const rows = [];
    for (const s of data.surveys) {
      const newest = Math.max(...s.versions.map((v) => v.version));
      for (const v of [...s.versions].reverse()) rows.push(h('tr', { 'data-survey': s.survey_id, 'data-version': String(v.version) },
        h('td', {}, h('a', { class: 'store-link', href: versionHref(s.survey_id, v.version) }, versionName(s.survey_id, v.version)),
          v.built_in ? [' ', badge('neutral', t('surveys.builtIn'), 'built-in')] : null),
        h('td', { title: v.published_at || '' }, v.published_at ? dateTime(v.published_at) : t('surveys.builtInDate')),
        h('td', { 'data-col': 'assigned' }, assignmentChips(v)),
        h('td', { class: 'num', 'data-value': v.stores }, int(v.stores)),
        h('td', { class: 'actions' },
          h('a', { class: 'btn', href: versionHref(s.survey_id, v.version, true), 'data-action': 'edit' }, t('surveys.editAsNew')),
          h('button', { class: 'btn', type: 'button', 'data-action': v.version < newest ? 'rollback' : 'assign',
            onclick: () => assignDialog(data, s.survey_id, v.version, reload) }, v.version < newest ? t('surveys.rollback') : t('surveys.assign')))));
    }
    return h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, t('surveys.versions')), h('span', { class: 'legend-note' }, t('surveys.versionsHint'))),
      h('div', { class: 'table-wrap' }, h('table', { id: 'surveys-table' },
        h('thead', {}, h('tr', {}, ['surveys.version', 'surveys.published', 'surveys.assignedTo', 'surveys.storesRunning', 'admin.actions'].map((k, i) =>
          h('th', { scope: 'col', class: i === 3 ? 'num' : null }, t(k))))),
        h('tbody', {}, rows))));
  }

  function surveyScopesCard(data) {
    const limit = 100;
    const body = h('tbody', {});
    const more = h('div', { class: 'muted small' });
    const fill = (q) => {
      const query = q.trim().toLowerCase();
      const shown = data.scopes.filter((s) => !query || [s.id, s.name, s.region].some((x) => x && String(x).toLowerCase().includes(query)));
      body.replaceChildren(...shown.slice(0, limit).map((s) => h('tr', { 'data-scope': scopeKey(s) },
        h('td', {}, s.kind === 'chain' ? t('surveys.scope.chain') : s.kind === 'region' ? t('col.region') + ' · ' + s.name : s.id),
        h('td', {}, s.kind === 'store' ? (s.name || none()) : none()),
        h('td', {}, s.kind === 'store' ? regionName(s.region, data.scopes.filter((r) => r.kind === 'region')) : none()),
        h('td', { 'data-col': 'runs' }, h('a', { href: versionHref(s.survey_id, s.version) }, versionName(s.survey_id, s.version))),
        h('td', {}, badge(s.assigned_by === 'built-in' ? 'neutral' : 'good', assignedByText(s.assigned_by), s.assigned_by)))));
      more.textContent = shown.length > limit ? t('surveys.moreScopes', { n: int(shown.length - limit) }) : '';
    };
    const search = h('input', { id: 'survey-scope-search', type: 'search', placeholder: t('stores.search'), 'aria-label': t('stores.search') });
    search.addEventListener('input', () => fill(search.value));
    fill('');
    return h('section', { class: 'card spaced' }, h('div', { class: 'card-head' }, h('h2', {}, t('surveys.scopes')), h('span', { class: 'legend-note' }, t('surveys.scopesHint'))),
      h('div', { class: 'store-filters' }, search),
      h('div', { class: 'table-wrap' }, h('table', { id: 'survey-scopes' },
        h('thead', {}, h('tr', {}, ['surveys.place', 'col.name', 'col.region', 'surveys.runs', 'surveys.assignedBy'].map((k) => h('th', { scope: 'col' }, t(k))))),
        body)), more);
  }

  async function showSurveys() {
    let data = null;
    const title = () => t('nav.surveys');
    const reload = () => showSurveys();
    const view = {
      render() {
        if (!data) return loadingView(title());
        setMain(pageHead(title(), t('admin.hint.surveys'), null), flashBox(), surveyVersionsCard(data, reload), surveyScopesCard(data));
      },
    };
    state.view = view;
    view.render();
    try {
      data = await api('/api/v1/surveys');
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(title(), e, reload);
    }
  }

  async function showSurveyVersion(id, version) {
    let data = null, shown = null, preview = null;
    const title = () => versionName(id, version);
    const reload = () => showSurveyVersion(id, version);
    const back = () => h('a', { class: 'back', href: '#/surveys' }, t('surveys.back'));
    const view = {
      render() {
        if (!data || !shown) return setMain(pageHead(title(), t('common.loading'), null, back()), h('div', { class: 'card empty' }, t('common.loading')));
        const row = data.surveys.find((s) => s.survey_id === id).versions.find((v) => v.version === version);
        const newest = Math.max(...data.surveys.find((s) => s.survey_id === id).versions.map((v) => v.version));
        preview = previewCard(() => shown.definition, data.terminal_words, state.lang);
        setMain(pageHead(title(), shown.built_in ? t('surveys.builtInSub') : t('surveys.publishedSub', { t: dateTime(shown.published_at) }), null, back()),
          flashBox(),
          h('section', { class: 'card', id: 'survey-facts' },
            h('dl', { class: 'facts' },
              h('dt', {}, t('surveys.assignedTo')), h('dd', { id: 'survey-assigned' }, assignmentChips(row)),
              h('dt', {}, t('surveys.storesRunning')), h('dd', {}, int(row.stores)),
              h('dt', {}, t('surveys.items')), h('dd', {}, (shown.definition.items || []).map((k) => t('segue.' + k)).join(t('list.sep'))),
              h('dt', {}, t('surveys.tags')), h('dd', {}, (shown.definition.tags || []).map((tag) => tagLabelIn(tag, data.terminal_words, state.lang) || tagId(tag)).join(t('list.sep')))),
            h('div', { class: 'filters' },
              h('a', { class: 'btn primary', id: 'survey-edit', href: versionHref(id, version, true) }, t('surveys.editAsNew')),
              h('button', { class: 'btn', type: 'button', id: 'survey-assign', 'data-action': version < newest ? 'rollback' : 'assign',
                onclick: () => assignDialog(data, id, version, reload) }, version < newest ? t('surveys.rollback') : t('surveys.assign')))),
          h('div', { class: 'grid survey-columns' }, preview.card,
            h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, t('surveys.json'))),
              h('pre', { class: 'json', id: 'survey-json' }, JSON.stringify(shown.definition, null, 2)))));
      },
    };
    state.view = view;
    view.render();
    try {
      [data, shown] = await Promise.all([api('/api/v1/surveys'), api('/api/v1/surveys/' + encodeURIComponent(id) + '/versions/' + version)]);
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(title(), e, reload);
    }
  }

  // The editor: the common edits as a form, the rest as JSON; both edit one draft.
  function numberField(id, label, value, attrs, onValue) {
    const el = h('input', { id, type: 'number', value: value === undefined ? '' : String(value), ...attrs });
    el.addEventListener('input', () => onValue(el.value === '' ? undefined : Number(el.value)));
    return h('label', { class: 'field' }, h('span', {}, label), el);
  }

  function setOrDelete(obj, key, value) {
    if (value === undefined || value === '') delete obj[key];
    else obj[key] = value;
  }

  function itemsEditor(draft, changed) {
    const asked = draft.items || [];
    const order = asked.concat(SEGUE.filter((k) => !asked.includes(k)));
    const move = (k, delta) => {
      const i = asked.indexOf(k), j = i + delta;
      if (i < 0 || j < 0 || j >= asked.length) return;
      [asked[i], asked[j]] = [asked[j], asked[i]];
      changed(true);
    };
    return h('ol', { class: 'item-list', id: 'edit-items', 'data-field': 'definition.items' }, order.map((k) => {
      const on = asked.includes(k);
      const box = h('input', { type: 'checkbox', checked: on, 'data-action': 'toggle', id: 'edit-item-' + k });
      box.addEventListener('change', () => {
        if (box.checked) asked.push(k);
        else asked.splice(asked.indexOf(k), 1);
        draft.items = asked;
        changed(true);
      });
      return h('li', { 'data-item': k, class: on ? null : 'off', 'data-field': on ? 'definition.items[' + asked.indexOf(k) + ']' : null },
        box, h('label', { for: 'edit-item-' + k }, t('segue.' + k)),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'btn icon', 'data-action': 'up', disabled: !on || asked.indexOf(k) === 0, 'aria-label': t('surveys.up'), onclick: () => move(k, -1) }, '↑'),
        h('button', { type: 'button', class: 'btn icon', 'data-action': 'down', disabled: !on || asked.indexOf(k) === asked.length - 1, 'aria-label': t('surveys.down'), onclick: () => move(k, 1) }, '↓'));
    }));
  }

  function tagsEditor(draft, fresh, changed) {
    const langs = draft.languages || [];
    const tags = draft.tags || (draft.tags = []);
    const rows = tags.map((tag, i) => {
      const isObject = typeof tag === 'object';
      const idInput = h('input', { type: 'text', value: tagId(tag), 'data-field': 'definition.tags[' + i + ']' + (isObject ? '.id' : ''),
        'aria-label': t('surveys.tagId'), readonly: !fresh.has(tag), spellcheck: 'false', class: 'tag-id' });
      idInput.addEventListener('input', () => { tag.id = idInput.value.trim(); changed(false); });
      return h('tr', { 'data-tag-index': String(i), 'data-tag': tagId(tag) },
        h('td', {}, idInput),
        langs.map((lang) => {
          const input = h('input', { type: 'text', value: (isObject && tag.labels && tag.labels[lang]) || '', lang,
            'data-field': 'definition.tags[' + i + '].labels.' + lang, 'data-lang': lang, 'aria-label': t('surveys.tagLabel', { lang: LANG_NAMES[lang] || lang }) });
          input.addEventListener('input', () => {
            if (typeof tags[i] !== 'object') tags[i] = { id: tagId(tag), labels: {} };   // a bare id from the JSON
            tags[i].labels = tags[i].labels || {};
            setOrDelete(tags[i].labels, lang, input.value);
            changed(false);
          });
          return h('td', {}, input);
        }),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn', 'data-action': 'remove-tag', onclick: () => { tags.splice(i, 1); changed(true); } }, t('surveys.removeTag'))));
    });
    const add = h('button', { type: 'button', class: 'btn', id: 'edit-add-tag', disabled: tags.length >= 6, onclick: () => {
      const tag = { id: '', labels: {} };
      fresh.add(tag);
      tags.push(tag);
      changed(true);
    } }, t('surveys.addTag'));
    return [h('div', { class: 'table-wrap' }, h('table', { id: 'edit-tags', 'data-field': 'definition.tags' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('surveys.tagId')),
        langs.map((lang) => h('th', { scope: 'col' }, t('surveys.tagLabel', { lang: LANG_NAMES[lang] || lang }))), h('th', { scope: 'col' }, t('admin.actions')))),
      h('tbody', {}, rows))),
    h('div', { class: 'filters' }, add, h('span', { class: 'muted small' }, t('surveys.tagsMax')))];
  }

  function settingsEditor(draft, changed) {
    const settings = () => draft.settings || (draft.settings = {});
    const tidy = () => { if (draft.settings && !Object.keys(draft.settings).length) delete draft.settings; };
    const field = (spec) => numberField('edit-' + spec.key, t('surveys.setting.' + spec.key), (draft.settings || {})[spec.key],
      { min: spec.min, max: spec.max, step: spec.step, 'data-field': 'definition.settings.' + spec.key, placeholder: t('surveys.terminalDefault') },
      (v) => { setOrDelete(settings(), spec.key, v); tidy(); changed(false); });
    return h('div', { class: 'settings-grid' }, SURVEY_SETTINGS.map(field));
  }

  function callbackEditor(draft, changed) {
    const settings = () => draft.settings || (draft.settings = {});
    const tidy = () => { if (draft.settings && !Object.keys(draft.settings).length) delete draft.settings; };
    const fields = CALLBACK_SETTINGS.map((spec) => numberField('edit-' + spec.key, t('surveys.setting.' + spec.key), (draft.settings || {})[spec.key],
      { min: spec.min, max: spec.max, step: spec.step, 'data-field': 'definition.settings.' + spec.key, placeholder: t('surveys.terminalDefault') },
      (v) => { setOrDelete(settings(), spec.key, v); tidy(); changed(false); }));
    const pattern = h('input', { id: 'edit-callback_number_pattern', type: 'text', spellcheck: 'false', value: (draft.settings || {}).callback_number_pattern || '',
      'data-field': 'definition.settings.callback_number_pattern', placeholder: '1[0-9]{10}' });
    pattern.addEventListener('input', () => { setOrDelete(settings(), 'callback_number_pattern', pattern.value); tidy(); changed(false); });
    const consent = (draft.languages || []).map((lang) => {
      const area = h('textarea', { id: 'edit-consent-' + lang, rows: 2, lang, 'data-field': 'definition.callback_consent.' + lang, placeholder: t('surveys.terminalDefault') },
        (draft.callback_consent || {})[lang] || '');
      area.addEventListener('input', () => {
        draft.callback_consent = draft.callback_consent || {};
        setOrDelete(draft.callback_consent, lang, area.value);
        if (!Object.keys(draft.callback_consent).length) delete draft.callback_consent;
        changed(false);
      });
      return h('label', { class: 'field wide' }, h('span', {}, t('surveys.consent', { lang: LANG_NAMES[lang] || lang })), area);
    });
    return h('div', { class: 'settings-grid' }, fields, h('label', { class: 'field' }, h('span', {}, t('surveys.setting.callback_number_pattern')), pattern), consent);
  }

  async function showSurveyEditor(id, base) {
    let data = null, draft = null, fresh = new Set(), refusal = null, publishing = false, preview = null, chooser = null;
    const scopeMemory = {};
    const title = () => t('surveys.editTitle', { id, v: base });
    const back = () => h('a', { class: 'back', href: versionHref(id, base) }, t('surveys.backToVersion', { v: base }));
    const raw = h('textarea', { id: 'edit-json', rows: 18, spellcheck: 'false', 'aria-label': t('surveys.json') });
    const rawError = h('div', { class: 'form-error', id: 'edit-json-error', role: 'alert' });
    // A change from the form: the preview and the JSON follow; `rebuild` redraws the form too.
    const changed = (rebuild) => {
      refusal = null;
      if (rebuild) return view.render();
      if (document.activeElement !== raw) raw.value = JSON.stringify(draft, null, 2);
      if (preview) preview.draw();
      const error = document.getElementById('survey-error');
      if (error) error.replaceChildren();
      for (const el of document.querySelectorAll('.invalid')) el.classList.remove('invalid');
    };
    const publish = async () => {
      const scope = chooser.value();
      const error = document.getElementById('survey-error');
      if (!scope) { error.textContent = t('surveys.pickScope'); return; }
      publishing = true;
      document.getElementById('survey-publish').disabled = true;
      try {
        const reply = await api('/api/v1/surveys', { method: 'POST', body: { definition: draft, scope } });
        state.surveyFlash = t('surveys.publishedTo', { version: versionName(reply.survey_id, reply.version), place: scopeLabel(reply.scope) });
        location.hash = versionHref(reply.survey_id, reply.version);
      } catch (e) {
        if (e instanceof Unauthorized) return logout(t('login.error.invalid'));
        refusal = { message: e.code === 'csrf' ? t('admin.error.csrf') : e.message, field: e.field || null, code: e.code };
        publishing = false;
        showRefusal();
      }
    };
    // HQ's refusal next to the publish button, and the field it names marked in the form.
    const showRefusal = () => {
      const error = document.getElementById('survey-error');
      const button = document.getElementById('survey-publish');
      if (button) button.disabled = publishing;
      if (!error || !refusal) return;
      error.replaceChildren(h('strong', {}, t('surveys.refused')), ' ', refusal.message,
        refusal.field ? h('div', { class: 'small', id: 'survey-error-field', 'data-field': refusal.field }, t('surveys.field', { field: refusal.field })) : null);
      // The control of that field, else of the nearest field holding it ("definition.tags" for a tag).
      const holds = (f) => refusal.field === f || refusal.field.startsWith(f + '.') || refusal.field.startsWith(f + '[');
      const target = refusal.field && [...document.querySelectorAll('#survey-form [data-field]')].filter((el) => holds(el.dataset.field) && el.getClientRects().length)
        .sort((a, b) => b.dataset.field.length - a.dataset.field.length)[0];
      if (target) {
        target.classList.add('invalid');
        target.setAttribute('aria-invalid', 'true');
        target.scrollIntoView({ block: 'center' });
      }
    };
    const view = {
      render() {
        if (!data || !draft) return setMain(pageHead(title(), t('common.loading'), null, back()), h('div', { class: 'card empty' }, t('common.loading')));
        raw.value = JSON.stringify(draft, null, 2);
        const applyRaw = h('button', { type: 'button', class: 'btn', id: 'edit-json-apply', onclick: () => {
          try {
            const parsed = JSON.parse(raw.value);
            if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(t('surveys.jsonObject'));
            draft = parsed;
            fresh = new Set();
            rawError.textContent = '';
            changed(true);
          } catch (e) {
            rawError.textContent = t('surveys.jsonError', { message: e.message });
          }
        } }, t('surveys.applyJson'));
        preview = previewCard(() => draft, data.terminal_words, state.lang);
        chooser = scopeChooser(data, 'publish-scope', scopeMemory);
        const maxStars = numberField('edit-reasons-max', t('surveys.reasonsMax'), draft.reasons_max_stars,
          { min: 0, max: 5, step: 1, 'data-field': 'definition.reasons_max_stars' }, (v) => { setOrDelete(draft, 'reasons_max_stars', v); changed(false); });
        const form = h('div', { class: 'survey-form', id: 'survey-form' },
          h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, t('surveys.items')), h('span', { class: 'legend-note' }, t('surveys.itemsHint'))),
            itemsEditor(draft, changed)),
          h('section', { class: 'card spaced' }, h('div', { class: 'card-head' }, h('h2', {}, t('surveys.tags')), h('span', { class: 'legend-note' }, t('surveys.tagsHint'))),
            h('div', { class: 'settings-grid' }, maxStars), tagsEditor(draft, fresh, changed)),
          h('section', { class: 'card spaced' }, h('div', { class: 'card-head' }, h('h2', {}, t('surveys.settings')), h('span', { class: 'legend-note' }, t('surveys.settingsHint'))),
            settingsEditor(draft, changed)),
          h('section', { class: 'card spaced' }, h('div', { class: 'card-head' }, h('h2', {}, t('surveys.callback')), h('span', { class: 'legend-note' }, t('surveys.callbackHint'))),
            callbackEditor(draft, changed)),
          h('section', { class: 'card spaced' }, h('details', { id: 'edit-raw' }, h('summary', {}, t('surveys.json')),
            h('p', { class: 'muted small' }, t('surveys.jsonHint')), raw, rawError, h('div', { class: 'filters' }, applyRaw))),
          h('section', { class: 'card spaced publish-card', id: 'publish-card' },
            h('div', { class: 'card-head' }, h('h2', {}, t('surveys.publish')), h('span', { class: 'legend-note' }, t('surveys.publishHint'))),
            chooser.el,
            h('div', { class: 'form-error', id: 'survey-error', role: 'alert' }),
            h('div', { class: 'filters' }, h('button', { class: 'btn primary', type: 'button', id: 'survey-publish', onclick: publish }, t('surveys.publishButton')))));
        setMain(pageHead(title(), t('surveys.editSub', { languages: (draft.languages || []).map((l) => LANG_NAMES[l] || l).join(' · ') }), null, back()),
          h('div', { class: 'grid survey-editor' }, form, h('div', { class: 'preview-column' }, preview.card)));
        showRefusal();
      },
    };
    state.view = view;
    view.render();
    try {
      const [list, shown] = await Promise.all([api('/api/v1/surveys'), api('/api/v1/surveys/' + encodeURIComponent(id) + '/versions/' + base)]);
      data = list;
      draft = editableDraft(shown.definition, list.terminal_words);
      if (state.view === view) view.render();
    } catch (e) {
      if (state.view === view) errorView(title(), e, () => showSurveyEditor(id, base));
    }
  }

  // ---------- routing ----------

  function route() {
    if (!signedIn()) return renderLogin();
    renderChrome();
    const parts = (location.hash || '#/overview').replace(/^#\/?/, '').split('/');
    if (parts[0] === 'store' && parts[1]) return showStore(decodeURIComponent(parts[1]));
    if (parts[0] === 'fleet') return showFleet();
    if (parts[0] === 'cases') return showCases();
    if (parts[0] === 'case' && parts[1]) return showCase(decodeURIComponent(parts[1]));
    if (parts[0] === 'complaints') return showComplaints();
    if (parts[0] === 'alerts') return showAlerts();
    if (parts[0] === 'surveys' && isAdmin()) {
      const [id, version, edit] = [parts[1] && decodeURIComponent(parts[1]), Number(parts[2]), parts[3] === 'edit'];
      if (id && version) return edit ? showSurveyEditor(id, version) : showSurveyVersion(id, version);
      return showSurveys();
    }
    // Pages a role may not use are not offered; HQ refuses their API calls anyway.
    if (ADMIN_TABS.includes(parts[0]) && isAdmin()) return showAdmin(parts[0]);
    return showOverview();
  }

  /// Who is signed in: a token in this tab, or a session cookie from an earlier login.
  async function start() {
    if (state.token || state.csrf) {
      try {
        state.me = await api('/api/v1/me');
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        state.token = null;
        state.me = null;
      }
    }
    route();
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

  loadLanguage(pickLanguage()).then(start, (e) => {
    document.getElementById('main').textContent = 'SEGUE HQ: ' + e.message;
  });
})();
