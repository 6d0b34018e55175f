// Cost over time as an inline SVG bar chart: the jobs' cost_usd summed per bucket of created_at
// (hours over a short span, days or more over a longer one).
import { h, money } from './dom.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MAX_BARS = 40;
const WIDTH = 640;
const HEIGHT = 180;
const PAD = { left: 56, right: 8, top: 10, bottom: 28 };

/** Buckets `jobs` by created_at: `{size, buckets: [{start, cost, count}]}`, oldest first. */
export function costBuckets(jobs) {
  const times = jobs.map((j) => Date.parse(j.created_at)).filter(Number.isFinite);
  if (times.length === 0) return { size: HOUR, buckets: [] };
  const first = Math.min(...times);
  const last = Math.max(...times);
  const unit = last - first <= 2 * DAY ? HOUR : DAY;
  const size = unit * Math.max(1, Math.ceil((last - first + 1) / unit / MAX_BARS));
  const start = Math.floor(first / unit) * unit;
  const count = Math.floor((last - start) / size) + 1;
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: start + i * size,
    cost: 0,
    count: 0,
  }));
  for (const job of jobs) {
    const t = Date.parse(job.created_at);
    if (!Number.isFinite(t)) continue;
    const bucket = buckets[Math.floor((t - start) / size)];
    bucket.cost += job.cost_usd ?? 0;
    bucket.count += 1;
  }
  return { size, buckets };
}

function label(time, size) {
  const d = new Date(time);
  return size < DAY
    ? d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function costChart(jobs) {
  const { size, buckets } = costBuckets(jobs);
  const total = buckets.reduce((sum, b) => sum + b.cost, 0);
  if (buckets.length === 0) return h('p', { class: 'muted' }, 'No jobs yet.');
  const max = Math.max(...buckets.map((b) => b.cost), 0.01);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const barW = plotW / buckets.length;
  const per = size < DAY ? `${size / HOUR} h` : `${size / DAY} d`;
  const summary = `Cost per ${per} from ${label(buckets[0].start, size)} to ${label(buckets.at(-1).start, size)}: ${money(total)} in all, at most ${money(max)} in one bucket.`;
  const bars = buckets.map((b, i) => {
    const height = (b.cost / max) * plotH;
    return h(
      'svg:rect',
      {
        class: 'bar',
        x: (PAD.left + i * barW + 1).toFixed(1),
        y: (PAD.top + plotH - height).toFixed(1),
        width: Math.max(1, barW - 2).toFixed(1),
        height: Math.max(height, b.count ? 1 : 0).toFixed(1),
      },
      h(
        'svg:title',
        {},
        `${label(b.start, size)}: ${money(b.cost)}, ${b.count} job${b.count === 1 ? '' : 's'}`,
      ),
    );
  });
  const text = (x, y, anchor, content) =>
    h('svg:text', { x, y, 'text-anchor': anchor, class: 'axis-label' }, content);
  return h(
    'figure',
    { class: 'chart' },
    h(
      'svg:svg',
      {
        viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
        role: 'img',
        'aria-label': summary,
        class: 'cost-chart',
      },
      h('svg:line', {
        class: 'axis',
        x1: PAD.left,
        y1: PAD.top + plotH,
        x2: WIDTH - PAD.right,
        y2: PAD.top + plotH,
      }),
      h('svg:line', {
        class: 'axis',
        x1: PAD.left,
        y1: PAD.top,
        x2: PAD.left,
        y2: PAD.top + plotH,
      }),
      text(PAD.left - 6, PAD.top + 10, 'end', money(max)),
      text(PAD.left - 6, PAD.top + plotH, 'end', '$0'),
      text(PAD.left, HEIGHT - 8, 'start', label(buckets[0].start, size)),
      text(WIDTH - PAD.right, HEIGHT - 8, 'end', label(buckets.at(-1).start, size)),
      bars,
    ),
    h('figcaption', {}, summary),
  );
}
