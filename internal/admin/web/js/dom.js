// DOM building and formatting helpers. Every text from the server goes in
// through textContent or attributes, never as markup.

/**
 * Creates an element. attrs: attributes, with "class", "on<event>"
 * handlers, "dataset" and boolean values handled; children: nodes, strings,
 * arrays of them, null and false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const svgNS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element, with attributes as for h. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(svgNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else if (k === 'checked' && 'checked' in el) {
      el.checked = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** The text shown for a value that the server did not send. */
export const NA = 'n/a';

const numberFormat = new Intl.NumberFormat('en-US');

/** Formats an integer with thousands separators; n/a when absent. */
export function fmtInt(n) {
  return typeof n === 'number' && Number.isFinite(n) ? numberFormat.format(n) : NA;
}

/** Formats a rate per second with a precision that suits its size. */
export function fmtRate(r) {
  if (typeof r !== 'number' || !Number.isFinite(r)) return NA;
  if (r === 0) return '0';
  if (r < 10) return r.toFixed(1);
  return numberFormat.format(Math.round(r));
}

/** Formats a byte count as KiB, MiB or GiB; n/a when absent. */
export function fmtBytes(b) {
  if (typeof b !== 'number' || !Number.isFinite(b) || b < 0) return NA;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${i === 0 ? b : b.toFixed(b < 10 ? 1 : 0)} ${units[i]}`;
}

/** Formats a CPU share in percent; n/a when absent. */
export function fmtCPU(c) {
  if (typeof c !== 'number' || !Number.isFinite(c)) return NA;
  return `${c.toFixed(c < 10 ? 1 : 0)}%`;
}

/** Formats seconds as the two largest of days, hours, minutes, seconds. */
export function fmtDuration(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec) || sec < 0) return NA;
  sec = Math.floor(sec);
  const parts = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']];
  const out = [];
  for (const [n, u] of parts) {
    if (sec >= n || (out.length === 0 && n === 1)) {
      out.push(`${Math.floor(sec / n)}${u}`);
      sec %= n;
    } else if (out.length > 0) {
      out.push(`0${u}`);
    }
    if (out.length === 2) break;
  }
  return out.join(' ');
}

/** Formats a time of day as HH:MM:SS in the browser's zone. */
export function fmtClock(t) {
  return new Date(t).toLocaleTimeString([], { hour12: false });
}

/** Pretty-prints JSON; values that are not JSON are shown as they are. */
export function pretty(v) {
  if (typeof v === 'string') {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}

/** Shows JSON on one line, cut to max characters. */
export function compact(v, max = 200) {
  const t = v === undefined ? '' : JSON.stringify(v);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
