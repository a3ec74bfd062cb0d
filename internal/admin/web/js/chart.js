// A small line chart drawn as inline SVG, sized to its container: a few
// series over a fixed time window, a zero-based y axis rounded up to a
// round number, and a legend with the latest values.

import { h, s, replace, NA } from './dom.js';

const height = 150;
const pad = { left: 48, right: 10, top: 10, bottom: 22 };

/** Rounds v up to 1, 2 or 5 times a power of ten; at least 1. */
export function niceMax(v) {
  if (!(v > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** A line chart; call update with new points, destroy when removed. */
export class LineChart {
  /**
   * title: caption; series: [{ name }]; format: formats a value;
   * windowMs: the time span shown, ending at the latest point.
   */
  constructor({ title, series, format, windowMs }) {
    this.series = series;
    this.format = format;
    this.windowMs = windowMs;
    this.points = [];
    this.legend = h('div', { class: 'legend' });
    this.svg = s('svg', { class: 'chart-svg', role: 'img', 'aria-label': title,
      height, preserveAspectRatio: 'none' });
    this.el = h('figure', { class: 'chart' },
      h('figcaption', {}, h('span', { class: 'chart-title' }, title), this.legend),
      this.svg);
    this.resize = new ResizeObserver(() => this.render());
    this.resize.observe(this.el);
  }

  /** Redraws with points: [{ t: ms, v: [value per series, null if none] }]. */
  update(points) {
    this.points = points;
    this.render();
  }

  destroy() {
    this.resize.disconnect();
  }

  render() {
    const width = Math.max(this.svg.getBoundingClientRect().width, 200);
    this.svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const last = this.points.at(-1);
    const t1 = last ? last.t : Date.now();
    const t0 = t1 - this.windowMs;
    let max = 0;
    for (const p of this.points) {
      for (const v of p.v) if (typeof v === 'number' && v > max) max = v;
    }
    max = niceMax(max);

    const iw = width - pad.left - pad.right;
    const ih = height - pad.top - pad.bottom;
    const x = (t) => pad.left + ((t - t0) / this.windowMs) * iw;
    const y = (v) => pad.top + ih - (v / max) * ih;

    const grid = [0, max / 2, max].map((v) => [
      s('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
      s('text', { class: 'axis', x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end' },
        this.format(v)),
    ]);
    const minutes = this.windowMs / 60000;
    const ticks = [[t0, `-${minutes}m`], [t0 + this.windowMs / 2, `-${minutes / 2}m`],
      [t1, 'now']].map(([t, label], i) => s('text', {
      class: 'axis', x: x(t), y: height - 6,
      'text-anchor': ['start', 'middle', 'end'][i],
    }, label));

    const dots = [];
    const lines = this.series.map((_, i) => {
      let d = '';
      let pen = false;
      for (const p of this.points) {
        const v = p.v[i];
        if (typeof v !== 'number' || p.t < t0) {
          pen = false;
          continue;
        }
        d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      }
      const v = last?.v[i];
      if (typeof v === 'number') {
        // The latest value stands out, and a single sample is visible.
        dots.push(s('circle', { class: `dot series-${i}`, r: 3, cx: x(last.t), cy: y(v) }));
      }
      return s('path', { class: `line series-${i}`, d: d || 'M0,0' });
    });
    replace(this.svg, grid, ticks, lines, dots);

    replace(this.legend, this.series.map((sr, i) => {
      const v = last?.v[i];
      return h('span', { class: 'legend-item' },
        h('span', { class: `swatch series-${i}` }), `${sr.name} `,
        h('strong', {}, typeof v === 'number' ? this.format(v) : NA));
    }));
  }
}
